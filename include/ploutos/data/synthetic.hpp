#pragma once
// The built-in synthetic market: the embedded default for a user with no data. Correlated returns
// from a market and sector structure, GARCH(1,1) volatility clustering, Student-t innovations,
// bull/bear/sideways regimes, rare jumps, OHLC from an intrabar path, volume that rises with |return|
// and volatility, on NYSE sessions. Same options and seed -> the same bars, bit for bit.
#include <cstdint>
#include <string>
#include <vector>

#include "ploutos/data/bar.hpp"

namespace ploutos::data {

struct SyntheticOptions {
  std::vector<std::string> tickers = {"SYNA", "SYNB", "SYNC", "SYND"};
  Day start = Day{std::chrono::year{2016} / 1 / 4};
  int sessions = 2000;  // number of NYSE sessions to generate
  std::uint64_t seed = 42;
  int sectors = 2;                   // ticker i belongs to sector i % sectors
  double market_correlation = 0.45;  // correlation of daily returns across sectors
  double sector_correlation = 0.70;  // within a sector
  double annual_volatility = 0.25;   // typical; each ticker draws 0.8x..1.4x of it
  double annual_drift = 0.08;        // long-run drift, before regimes
  double garch_alpha = 0.08;
  double garch_beta = 0.90;
  double tail_dof = 5.0;            // Student-t degrees of freedom (> 2)
  double regime_mean_length = 150;  // sessions
  double jump_probability = 0.003;  // per ticker per session
  double jump_volatility = 0.04;
  int intrabar_steps = 24;
  // Set by calibrate_synthetic (empty: drawn from the seed and the scalar settings above).
  std::vector<double> ticker_volatility;  // annual, one per ticker
  std::vector<double> ticker_drift;       // annual, one per ticker
  std::vector<double> correlation;        // row-major n x n; replaces the market/sector structure
};

// Estimates drift, volatility and the correlation matrix per ticker and GARCH(1,1) alpha/beta
// (Gaussian quasi-likelihood on the equally weighted market return, grid search) from real daily
// series, on the sessions all of them traded. The i-th synthetic ticker takes the i-th real one's
// parameters (cycling when there are more synthetic tickers). Throws InputError with fewer than
// 250 common sessions.
SyntheticOptions calibrate_synthetic(SyntheticOptions options, const std::vector<BarSeries>& real);

// One series per ticker, daily bars, prices rounded to 4 decimals, volume whole shares.
std::vector<BarSeries> generate_synthetic(const SyntheticOptions& options);

// Configured correlation of tickers i and j (1 on the diagonal); the calibrated matrix when set.
double synthetic_correlation(const SyntheticOptions& options, std::size_t i, std::size_t j);

}  // namespace ploutos::data
