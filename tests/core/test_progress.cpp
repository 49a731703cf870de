#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "ploutos/core/progress.hpp"

using namespace ploutos;

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(7), "0:07");
  EXPECT_EQ(format_duration(245), "4:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "--:--");
  EXPECT_EQ(format_duration(1.0 / 0.0), "--:--");
}

TEST(Progress, LineShowsFractionRateAndEta) {
  const auto line = render_progress_line("train", 5000, 10000, 10.0, "steps", 10);
  EXPECT_NE(line.find("train [#####.....]"), std::string::npos) << line;
  EXPECT_NE(line.find("50.0%"), std::string::npos) << line;
  EXPECT_NE(line.find("5000/10000"), std::string::npos) << line;
  EXPECT_NE(line.find("500.0 steps/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:10"), std::string::npos) << line;
}

TEST(Progress, NonTtyPrintsPlainLinesAndAFinalOne) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  {
    Progress p("load", 3, ProgressOptions{"files", false, 0.0, stream, 0});
    p.advance();
    p.advance();
    p.advance();
    p.finish();
  }
  std::fclose(stream);
  const std::string out(buffer, size);
  std::free(buffer);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("3/3"), std::string::npos) << out;
  EXPECT_NE(out.find("100.0%"), std::string::npos) << out;
}

TEST(Progress, QuietPrintsNothing) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  {
    Progress p("load", 3, ProgressOptions{"files", true, 0.0, stream, 0});
    p.advance(3);
    p.finish();
  }
  std::fclose(stream);
  EXPECT_EQ(size, 0u);
  std::free(buffer);
}

namespace {
std::string captured(const std::function<void(std::FILE*)>& write) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  write(stream);
  std::fclose(stream);
  std::string out(buffer, size);
  std::free(buffer);
  return out;
}

std::size_t lines_in(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}
}  // namespace

TEST(Progress, LineWithAnEstimateShowsItsFractionPhaseAndUnknowns) {
  const auto line = render_progress_line("train", 65536, 131072, 12.0, -1,
                                         ProgressEstimate{0.25, -1, "update epoch 3/20"}, "steps", 8);
  EXPECT_NE(line.find("train [##......]"), std::string::npos) << line;
  EXPECT_NE(line.find(" 25.0%"), std::string::npos) << line;
  EXPECT_NE(line.find("65536/131072"), std::string::npos) << line;
  EXPECT_NE(line.find("-- steps/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA --:--"), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.size() - 17), "update epoch 3/20") << line;
}

TEST(Progress, FinalLineIsNotRepeatedWhenNothingChanged) {
  const auto out = captured([](std::FILE* stream) {
    Progress p("load", 2, ProgressOptions{"files", false, 0.0, stream, 0});
    p.update(2);  // prints (interval 0)
    p.finish();   // would say the same
  });
  EXPECT_EQ(lines_in(out), 1u) << out;
  EXPECT_NE(out.find("2/2"), std::string::npos) << out;
}

TEST(Progress, FinalLineClearsThePhaseAndSaysDone) {
  const auto out = captured([](std::FILE* stream) {
    Progress p("train", 100, ProgressOptions{"steps", false, 0.0, stream, 0});
    p.update(100, ProgressEstimate{0.9, 5.0, "update epoch 18/20"});
    p.finish();
  });
  ASSERT_EQ(lines_in(out), 2u) << out;
  const std::string last = out.substr(out.find('\n') + 1);
  EXPECT_NE(last.find("100.0%"), std::string::npos) << last;
  EXPECT_NE(last.find("ETA 0:00"), std::string::npos) << last;
  EXPECT_EQ(last.find("epoch"), std::string::npos) << last;
}

TEST(Progress, RedrawnLineStartsWithCarriageReturnAndEndsWithNewline) {
  const auto out = captured([](std::FILE* stream) {
    Progress p("load", 2, ProgressOptions{"files", false, 0.0, stream, 1});
    p.update(1);
    p.finish();
  });
  EXPECT_EQ(out.front(), '\r');
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(lines_in(out), 1u) << out;
}

TEST(Progress, WorkDoneBeforeAResumeIsInTheBar) {
  const auto resumed = captured([](std::FILE* stream) {
    Progress p("train", 1000, ProgressOptions{"steps", false, 0.0, stream, 0}, 900);
    p.update(950);
  });
  EXPECT_NE(resumed.find(" 95.0%  950/1000"), std::string::npos) << resumed;
  const auto idle = captured([](std::FILE* stream) {
    Progress p("train", 1000, ProgressOptions{"steps", false, 0.0, stream, 0}, 900);
  });
  EXPECT_EQ(idle, "");  // nothing done in this process: nothing to report
}

TEST(RoundEstimator, FirstRoundIsUnknownUntilItsLastPhaseRunsThenExtrapolated) {
  RoundEstimator r(0, 3, 2);  // three rounds of rollout (1 s) then update (19 s)
  r.begin_phase(0, 0.0);
  auto e = r.estimate(0.5, 0.5);
  EXPECT_LT(e.eta_seconds, 0);
  EXPECT_DOUBLE_EQ(e.fraction, 0.0);
  r.begin_phase(1, 1.0);
  e = r.estimate(10.5, 0.5);  // half the update in 9.5 s: 19 s in all, a round of 20 s
  EXPECT_DOUBLE_EQ(e.eta_seconds, 9.5 + 2 * 20.0);
  EXPECT_DOUBLE_EQ(e.fraction, (10.5 / 20.0) / 3);
  r.end_round(20.0);
  EXPECT_EQ(r.finished_rounds(), 1);
  // Second round: the phases' lengths are the first round's.
  r.begin_phase(0, 20.0);
  e = r.estimate(20.5, 0.5);
  EXPECT_DOUBLE_EQ(e.eta_seconds, 0.5 + 19.0 + 20.0);
  EXPECT_DOUBLE_EQ(e.fraction, (1 + 0.5 / 20.0) / 3);
  // A phase running longer than its mean is not said to be finished.
  r.begin_phase(1, 21.0);
  e = r.estimate(45.0, 0.9);
  EXPECT_DOUBLE_EQ(e.eta_seconds, 0.0 + 20.0);
  EXPECT_LT(e.fraction, 2.0 / 3 + 1e-12);
}

TEST(RoundEstimator, PhaseLengthsAreMeansOverFinishedRounds) {
  RoundEstimator r(0, 4, 2);
  const double lengths[2][2] = {{1.0, 9.0}, {3.0, 11.0}};
  double t = 0;
  for (const auto& round : lengths) {
    r.begin_phase(0, t);
    t += round[0];
    r.begin_phase(1, t);
    t += round[1];
    r.end_round(t);
  }
  r.begin_phase(0, t);
  const auto e = r.estimate(t, 0.0);  // means 2 s and 10 s
  EXPECT_DOUBLE_EQ(e.eta_seconds, 12.0 + 12.0);
  EXPECT_DOUBLE_EQ(e.fraction, 0.5);
}

TEST(RoundEstimator, ResumedJobCountsEarlierRoundsInTheFractionOnly) {
  RoundEstimator r(2, 4, 1);  // one phase: a walk-forward of 4 trainings, 2 done before
  r.begin_phase(0, 0.0);
  const auto e = r.estimate(30.0, 0.25);  // a quarter of a 120 s training
  EXPECT_DOUBLE_EQ(e.eta_seconds, 90.0 + 120.0);
  EXPECT_DOUBLE_EQ(e.fraction, (2 + 0.25) / 4);
}

TEST(RoundEstimator, BetweenRoundsTheEtaIsTheRoundsLeft) {
  RoundEstimator r(0, 3, 2);
  r.begin_phase(0, 0.0);
  r.begin_phase(1, 2.0);
  r.end_round(10.0);
  const auto e = r.estimate(10.0, 0.0);
  EXPECT_DOUBLE_EQ(e.fraction, 1.0 / 3);
  EXPECT_DOUBLE_EQ(e.eta_seconds, 2 * 10.0);
  for (const double end : {20.0, 30.0}) {
    r.begin_phase(0, end - 10);
    r.begin_phase(1, end - 8);
    r.end_round(end);
  }
  const auto done = r.estimate(30.0, 0.0);
  EXPECT_DOUBLE_EQ(done.fraction, 1.0);
  EXPECT_DOUBLE_EQ(done.eta_seconds, 0.0);
}

// A log line while a redrawn line is shown: the line is cleared first and drawn again after.
TEST(Progress, ALogLineClearsTheRedrawnLineAndDrawsItAgain) {
  const auto out = captured([](std::FILE* stream) {
    Progress p("load", 2, ProgressOptions{"files", false, 0.0, stream, 1});
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // a terminal is redrawn at most every 0.1 s
    p.update(1);
    with_progress_line_cleared([&] { std::fputs("a log line\n", stream); });
    p.finish();
    with_progress_line_cleared([&] { std::fputs("after\n", stream); });  // nothing shown any more
  });
  const auto log = out.find("a log line\n");
  ASSERT_NE(log, std::string::npos) << out;
  EXPECT_EQ(out.substr(log - 5, 5), "\r\033[2K") << "cleared before";
  EXPECT_EQ(out.substr(log + 11, 4), "load") << "drawn again after";
  EXPECT_EQ(out.substr(out.size() - 7), "\nafter\n") << "after finish() nothing is redrawn";
}

TEST(ParallelRoundEstimator, FirstRoundsExtrapolateTheirOwnFractionsThenFinishedRoundsSetTheLength) {
  ParallelRoundEstimator r(4, 2);  // four rounds, two at a time
  r.begin_round(0, 0.0);
  r.begin_round(1, 0.0);
  auto e = r.estimate(5.0);
  EXPECT_LT(e.eta_seconds, 0) << "no round knows its fraction yet";
  EXPECT_DOUBLE_EQ(e.fraction, 0.0);
  r.update_round(0, 0.5);   // 10 s: a 20 s round
  r.update_round(1, 0.25);  // 10 s: a 40 s round
  e = r.estimate(10.0);
  // Rounds of 30 s: rests 15 and 22.5, two queued rounds of 30, over two workers.
  EXPECT_DOUBLE_EQ(e.eta_seconds, (15.0 + 22.5 + 2 * 30.0) / 2);
  EXPECT_DOUBLE_EQ(e.fraction, 0.75 / 4);
  r.end_round(0, 20.0);  // the finished round's 20 s is the length now
  r.begin_round(2, 20.0);
  r.update_round(1, 0.5);
  e = r.estimate(20.0);
  // Rests 10 (round 1) and 20 (round 2, unknown fraction), one queued round of 20.
  EXPECT_DOUBLE_EQ(e.eta_seconds, (10.0 + 20.0 + 20.0) / 2);
  EXPECT_DOUBLE_EQ(e.fraction, 1.5 / 4);
}

TEST(ParallelRoundEstimator, TheLastRoundsTakeAtLeastTheLongestRestAndSkippedRoundsAreNotTimed) {
  ParallelRoundEstimator r(3, 4);  // more workers than rounds
  r.skip_round();
  r.begin_round(1, 0.0);
  r.begin_round(2, 0.0);
  r.update_round(1, 0.5);
  r.update_round(2, 0.1);  // 10 s of a 100 s round
  const auto e = r.estimate(10.0);
  // Rounds of (20 + 100) / 2 = 60 s; rests 30 and 54 over four workers would say 21 s, but round 2
  // alone needs 54.
  EXPECT_DOUBLE_EQ(e.eta_seconds, 54.0);
  EXPECT_DOUBLE_EQ(e.fraction, (1 + 0.6) / 3);
  r.end_round(1, 20.0);
  r.end_round(2, 100.0);
  EXPECT_DOUBLE_EQ(r.estimate(100.0).fraction, 1.0);
  EXPECT_DOUBLE_EQ(r.estimate(100.0).eta_seconds, 0.0);
}

TEST(StudyProgress, CountsTheRunningRoundsUnitsAndNamesEveryRunningRound) {
  const auto out = captured([](std::FILE* stream) {
    StudyProgress study("search", 3, 100, ProgressOptions{"steps", false, 0.0, stream, 0}, 2);
    study.begin(0, "trial_1: ");
    study.begin(1, "trial_2: ");
    study.report(0, 40, ProgressEstimate{0.4, -1, "iteration 1/2: rollout 80%"});
    study.report(1, 250, ProgressEstimate{0.2, -1, "iteration 1/2: update epoch 1/4"});  // capped at 100
    study.end(0);
    study.skip(2);
    study.end(1);
    study.finish();
  });
  EXPECT_NE(out.find("40/300"), std::string::npos) << out;
  EXPECT_NE(out.find("140/300"), std::string::npos) << out;
  EXPECT_NE(out.find("trial_1: iteration 1/2: rollout 80%; trial_2: iteration 1/2: update epoch 1/4"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("300/300"), std::string::npos) << out;
}

TEST(StudyProgress, OneWorkerKeepsTheSequentialEstimate) {
  const auto out = captured([](std::FILE* stream) {
    StudyProgress study("walk-forward", 2, 1, ProgressOptions{"runs", false, 0.0, stream, 0}, 1);
    study.begin(0, "fold 1 seed 1: ");
    study.report(0, 0, ProgressEstimate{0.5, -1, "iteration 2/4: rollout 10%"});
    study.end(0);
    study.finish();
  });
  // Half of the first of two rounds: a quarter of the study.
  EXPECT_NE(out.find(" 25.0%  0/2"), std::string::npos) << out;
  EXPECT_NE(out.find("fold 1 seed 1: iteration 2/4: rollout 10%"), std::string::npos) << out;
  EXPECT_NE(out.find("%  1/2  "), std::string::npos) << out;  // the next round has just begun: 50% and a moment
}
