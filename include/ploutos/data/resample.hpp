#pragma once
#include "ploutos/data/bar.hpp"

namespace ploutos::data {

// Builds 4h bars from 1h bars within each NYSE session: buckets start at the session open
// (09:30-13:30, 13:30-close New York time); a bucket never spans two sessions. open = first bar's
// open, close = last bar's close, high/low = extremes, volume = sum; stamped with the bucket start.
// Bars outside regular sessions are dropped. Throws InputError unless the input is 1h.
BarSeries resample_1h_to_4h(const BarSeries& hourly);

// Hourly bars on the project's grid, anchored at the session open (09:30, 10:30, ..., 15:30 for
// the last half hour), from finer bars that fit it (30-minute bars of a source whose own hours are
// clock-hour anchored, 10:00, 11:00, which would lose 09:30-10:00 and mix two grids in one store).
// Aggregated as resample_1h_to_4h does; the input's timeframe field is not read.
BarSeries session_hours(const BarSeries& finer);

}  // namespace ploutos::data
