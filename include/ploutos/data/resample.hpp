#pragma once
#include "ploutos/data/bar.hpp"

namespace ploutos::data {

// Builds 4h bars from 1h bars within each NYSE session: buckets start at the session open
// (09:30-13:30, 13:30-close New York time); a bucket never spans two sessions. open = first bar's
// open, close = last bar's close, high/low = extremes, volume = sum; stamped with the bucket start.
// Bars outside regular sessions are dropped. Throws InputError unless the input is 1h.
BarSeries resample_1h_to_4h(const BarSeries& hourly);

}  // namespace ploutos::data
