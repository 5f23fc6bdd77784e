// The programs' logs: subsystem tags, the JSON-lines file (parsed back), level filtering on the
// terminal while the file keeps the record, and engine_train's --quiet / --log-level.
#include "io/run_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "test_util.h"
#include "tracking/report.h"

namespace engine::io {
namespace {

using nlohmann::json;

TEST(RunLog, SplitsTheSubsystemTag) {
  EXPECT_EQ(split_subsystem("[train] epoch 1"),
            std::make_pair(std::string("train"), std::string("epoch 1")));
  EXPECT_EQ(split_subsystem("no tag here"),
            std::make_pair(std::string("main"), std::string("no tag here")));
  EXPECT_EQ(split_subsystem("[not one word] x").first, "main");
  EXPECT_EQ(split_subsystem("[] x").first, "main");
}

TEST(RunLog, TheFileKeepsWhatTheTerminalLeavesOut) {
  test::ScratchDir dir;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  {
    RunLog log({.level = "info",
                .quiet = true,
                .terminal = true,
                .rank = 0,
                .world_size = 1,
                .json_path = dir.file("run/log.jsonl"),
                .text_path = ""});
    log.debug("[data] not kept at level info");
    log.info("[train] step 1 \"quoted\"\nsecond line");
    log.warn("[checkpoint] skipping a bad file");
    log.error("untagged failure");
  }
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "");  // --quiet: no info on the terminal
  EXPECT_NE(err.find("warning: [checkpoint] skipping a bad file"), std::string::npos) << err;
  EXPECT_NE(err.find("error: untagged failure"), std::string::npos) << err;
  const auto records = tracking::read_jsonl(dir.file("run/log.jsonl"));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["subsystem"], "train");
  EXPECT_EQ(records[0]["message"], "step 1 \"quoted\"\nsecond line");
  EXPECT_EQ(records[0]["level"], "info");
  EXPECT_EQ(records[0]["rank"], 0);
  EXPECT_EQ(records[0]["time"].get<std::string>().size(), 24u);  // 2026-11-22T03:53:17.123Z
  EXPECT_EQ(records[1]["level"], "warn");
  EXPECT_EQ(records[2]["subsystem"], "main");
}

TEST(RunLog, OtherRanksPrintOnlyTheirWarningsTagged) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  {
    RunLog log({.level = "info",
                .quiet = false,
                .terminal = false,
                .rank = 2,
                .world_size = 4,
                .json_path = "",
                .text_path = ""});
    log.info("[train] rank 2's progress");
    log.warn("[data] slow disk");
  }
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "[rank 2] warning: [data] slow disk\n");
}

TEST(EngineTrain, QuietAndLogLevelOnTheCommandLine) {
  test::ScratchDir dir;
  const std::string bin = ENGINE_BINARY_DIR "/engine/";
  ASSERT_EQ(test::run_command(bin + "engine_synth_csv --out " + dir.file("t.csv") +
                              " --rows 300 --classes 3 --seed 4")
                .exit_code,
            0);
  ASSERT_EQ(test::run_command(bin + "engine_prep --train " + dir.file("t.csv") + " --test " +
                              dir.file("t.csv") + " --out " + dir.file("ds") +
                              " --valid-fraction 0.2 --quiet")
                .exit_code,
            0);
  const std::string train = bin + "engine_train --data " + dir.file("ds") +
                            " --embed 8 --hidden 8 --epochs 1 --batch-size 32 --out ";
  const auto quiet = test::run_command(train + dir.file("quiet") + " --log-level error");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
  EXPECT_EQ(quiet.output, "");
  std::set<std::string> subsystems;
  for (const json& r : tracking::read_jsonl(dir.file("quiet/log.jsonl")))
    subsystems.insert(r["subsystem"]);
  EXPECT_TRUE(subsystems.contains("train") && subsystems.contains("eval"))
      << json(subsystems).dump();
  const auto bad = test::run_command(train + dir.file("bad") + " --log-level chatty");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--log-level"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace engine::io
