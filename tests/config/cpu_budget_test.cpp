#include "config/cpu_budget.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace jobd::config {
namespace {

namespace fs = std::filesystem;

// A fake cgroup mount in the test's temporary directory, removed afterwards.
class fake_cgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("jobd-cgroup-" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text << "\n";
  }
  fs::path root_;
};

TEST_F(fake_cgroup, V2QuotaOfTheProcesssCgroup) {
  write("jobd.slice/svc/cpu.max", "150000 100000");
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/jobd.slice/svc\n", root_).value(), 1.5);
}

TEST_F(fake_cgroup, V2ParentQuotaBindsAnUnlimitedChild) {
  write("jobd.slice/cpu.max", "100000 100000");
  write("jobd.slice/svc/cpu.max", "max 100000");
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/jobd.slice/svc\n", root_).value(), 1.0);
}

TEST_F(fake_cgroup, V2WithoutALimitAnywhereHasNoQuota) {
  write("cpu.max", "max 100000");
  write("a/cpu.max", "max 100000");
  EXPECT_FALSE(cgroup_cpu_quota("0::/a\n", root_));
}

TEST_F(fake_cgroup, V2InsideAContainerNamespaceReadsTheRoot) {
  write("cpu.max", "200000 100000");
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/\n", root_).value(), 2.0);
}

TEST_F(fake_cgroup, V1QuotaAndPeriod) {
  write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "50000");
  write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000");
  const std::string proc =
      "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota(proc, root_).value(), 0.5);
}

TEST_F(fake_cgroup, V1MinusOneMeansNoLimit) {
  write("cpu,cpuacct/cpu.cfs_quota_us", "-1");
  write("cpu,cpuacct/cpu.cfs_period_us", "100000");
  EXPECT_FALSE(cgroup_cpu_quota("4:cpu,cpuacct:/\n", root_));
}

TEST_F(fake_cgroup, MissingOrGarbledFilesMeanNoQuota) {
  write("x/cpu.max", "lots of cpus");
  EXPECT_FALSE(cgroup_cpu_quota("0::/x\n", root_));
  EXPECT_FALSE(cgroup_cpu_quota("0::/not-there\n", root_));
  EXPECT_FALSE(cgroup_cpu_quota("", root_));
}

TEST(CpuBudget, OnThisMachineIsAtLeastOneAndExplained) {
  const cpu_budget b = detect_cpu_budget();
  EXPECT_GE(b.cpus, 1u);
  EXPECT_FALSE(b.explanation.empty());
}

}  // namespace
}  // namespace jobd::config
