// Real child processes: output, exit statuses, pipes that misbehave, and process groups that must
// die whole.
#include "handlers/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "../support/proc.hpp"
#include "children.hpp"

namespace jobd::handlers {
namespace {

using namespace std::chrono_literals;

process_spec shell(const std::string& script) {
  process_spec s;
  s.argv = {"/bin/sh", "-c", script};
  s.env = {"PATH=/usr/bin:/bin"};
  s.kill_grace = 200ms;
  return s;
}

using jobd::testing::eventually;
using jobd::testing::exits_within;
using jobd::testing::open_fds;
using jobd::testing::peak_rss_kb;
using jobd::testing::processes_with;
using jobd::testing::status_of;

// Stops a job from another thread once `condition` holds (or fails the test when it never does,
// and stops it all the same, so that the test ends).
template <class Condition>
std::jthread stop_once(std::stop_source& stop, Condition condition, const char* never) {
  return std::jthread([&stop, condition, never] {
    EXPECT_TRUE(eventually(condition)) << never;
    stop.request_stop();
  });
}

TEST(Process, CollectsStdoutStderrAndTheExitCode) {
  const auto r = test_children().run(shell("cat; echo oops >&2; exit 3"), "hello", {});
  EXPECT_EQ(r.out, "hello");
  EXPECT_EQ(r.err_tail, "oops\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.signal);
  EXPECT_EQ(r.terminated_with, 0);
}

TEST(Process, ReportsTheSignalThatEndedTheChild) {
  const auto r = test_children().run(shell("kill -SEGV $$"), "", {});
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_FALSE(r.exit_code);
}

TEST(Process, RunsWithTheGivenEnvironmentAndDirectoryOnly) {
  process_spec s = shell("pwd; env | sort");
  s.env = {"PATH=/usr/bin:/bin", "ONLY=this"};
  s.cwd = "/tmp";
  const auto r = test_children().run(s, "", {});
  EXPECT_EQ(r.out.substr(0, 5), "/tmp\n");
  EXPECT_NE(r.out.find("ONLY=this"), std::string::npos);
  EXPECT_EQ(r.out.find("HOME="), std::string::npos);
}

TEST(Process, InheritsNoDescriptorOfTheServer) {
  // One descriptor opened without O_CLOEXEC, as a careless library might.
  const int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 3);
  const auto r = test_children().run(shell("ls /proc/self/fd"), "", {});
  close(leaky);
  std::set<std::string> fds;
  std::istringstream in(r.out);
  for (std::string fd; in >> fd;) fds.insert(fd);
  // 0, 1, 2, and the one ls opened to list the directory: a leak would make five.
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"})) << r.out;
}

TEST(Process, RestoresDefaultSignalDispositions) {
  // The server ignores SIGPIPE; a child that writes to a closed pipe must still die of it.
  signal(SIGPIPE, SIG_IGN);
  const auto r = test_children().run(shell("grep SigIgn /proc/self/status"), "", {});
  signal(SIGPIPE, SIG_DFL);
  const auto ignored = std::stoull(r.out.substr(r.out.find(':') + 1), nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0u) << r.out;
  EXPECT_EQ(ignored & (1ULL << (SIGTERM - 1)), 0u) << r.out;
}

TEST(Process, AChildThatNeverReadsStdinDoesNotDeadlockTwoMegabytesOfInput) {
  const std::string input(2 << 20, 'x');
  const auto r = test_children().run(shell("sleep 0.1; echo done"), input, {});
  EXPECT_EQ(r.out, "done\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Process, MegabytesOfStderrKeepOnlyTheTail) {
  process_spec s = shell("head -c 5000000 /dev/zero | tr '\\0' e >&2; echo -n END >&2; echo out");
  s.stderr_tail_bytes = 100;
  const auto r = test_children().run(s, "", {});
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err_tail.size(), 100u);
  EXPECT_EQ(r.err_tail.substr(97), "END");
}

TEST(Process, AChildThatClosesStdoutAndKeepsRunningIsWaitedFor) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = test_children().run(shell("echo early; exec >&-; sleep 0.3; exit 4"), "", {});
  EXPECT_EQ(r.out, "early\n");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST(Process, OutputPastTheCapStopsTheChildAndKeepsMemoryBounded) {
  const long before = peak_rss_kb();
  process_spec s = shell("head -c 50000000 /dev/zero; sleep 1000");
  s.max_stdout_bytes = 1024;
  const auto r = test_children().run(s, "", {});
  EXPECT_TRUE(r.output_too_large);
  EXPECT_EQ(r.out.size(), 1024u);
  EXPECT_NE(r.terminated_with, 0);
  // 50 MB went through the pipe; the process kept a kilobyte of it and a 64 KiB read buffer.
  EXPECT_LT(peak_rss_kb() - before, 16 * 1024);
}

TEST(Process, StopKillsTheWholeGroupIncludingGrandchildrenThatIgnoreSigterm) {
  const std::string marker = "987.6541";
  std::stop_source stop;
  std::jthread stopper([&] {
    while (processes_with(marker).size() < 2) std::this_thread::yield();
    stop.request_stop();
  });
  const auto r = test_children().run(
      shell("trap '' TERM; (trap '' TERM; sleep " + marker + ") & sleep " + marker + "; wait"), "",
      stop.get_token());
  EXPECT_TRUE(r.stop_requested);
  EXPECT_EQ(r.terminated_with, SIGKILL);
  EXPECT_TRUE(processes_with(marker).empty()) << "a process of the job survived it";
}

TEST(Process, ProcessesLeftBehindByACommandThatExitedEndWithIt) {
  const std::string marker = "987.6542";
  const auto r =
      test_children().run(shell("sleep " + marker + " >/dev/null 2>&1 & echo started"), "", {});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_EQ(r.terminated_with, SIGTERM);
  EXPECT_TRUE(processes_with(marker).empty());
}

// A process that leaves its job's group (setsid) is out of the job's reach; but it is this
// process's child once its parent is gone, and must not stay a zombie when it exits.
TEST(Process, AnOrphanThatLeftItsJobsGroupIsReapedOnceItHasExited) {
  // The command waits for the escapee to say its pid, which it does once out of the group.
  const auto r = test_children().run(
      shell("echo $(setsid sh -c 'echo $$; exec sleep 0.2 >/dev/null 2>&1' &)"), "", {});
  ASSERT_EQ(r.exit_code, 0);
  const pid_t orphan = std::stoi(r.out);
  EXPECT_EQ(status_of(orphan).parent, getpid());  // adopted
  ASSERT_TRUE(exits_within(orphan, 10s));
  EXPECT_EQ(status_of(orphan).state, 'Z');  // no job waits for it
  EXPECT_EQ(test_children().reap_strays(), 1u);
  EXPECT_EQ(status_of(orphan).state, '\0');
}

std::jthread sweep_strays_until_stopped() {
  return std::jthread([](const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      (void)test_children().reap_strays();
      std::this_thread::yield();
    }
  });
}

// Sweeping for strays while jobs start and end must never reap a job's own process: the job
// would lose its exit status.
TEST(Process, StraySweepsNeverTakeARunningJobsProcess) {
  // Stopped and joined when the test ends, by a failed assertion too.
  const std::jthread sweeper = sweep_strays_until_stopped();
  for (int i = 0; i < 100; ++i) {
    const auto r = test_children().run(shell("exit 7"), "", {});
    ASSERT_EQ(r.exit_code, 7) << "job " << i;
  }
}

// A zombie stays in its group until its parent reaps it. One whose parent left the job's group
// and never reaps it must not hold the job: the wait after SIGKILL is bounded by the grace.
TEST(Process, AZombieWhoseParentLeftTheGroupHoldsTheJobNoLongerThanSigkillsGrace) {
  const std::string marker = "987.6548";
  const std::string fifo = ::testing::TempDir() + "zombie-" + std::to_string(getpid()) + ".fifo";
  // X starts Y, then leaves the group (setsid) and becomes a sleep, which never reaps Y. Y ends
  // only then: it reads a FIFO that X holds open until that last exec (a shell in between might
  // reap it). The command says X's pid once X is out of the group.
  const auto began = std::chrono::steady_clock::now();
  const auto r = test_children().run(
      shell("mkfifo " + fifo + " && echo $( (sh -c 'read _ < " + fifo + "' >/dev/null & exec 3>" +
            fifo + "; rm " + fifo + "; exec setsid sh -c 'echo $$; exec sleep " + marker +
            " 3>&- >/dev/null 2>&1') & )"),
      "", {});
  const auto took = std::chrono::steady_clock::now() - began;
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.terminated_with, SIGKILL);
  EXPECT_LT(took, 20s);  // not the escapee's 987 s
  const pid_t escaped = std::stoi(r.out);
  ASSERT_EQ(processes_with(marker), std::vector<pid_t>{escaped});
  // Out of reach, as documented; ended here so that it and its zombie are reaped.
  kill(escaped, SIGKILL);  // a zombie then, until reaped below: its pid stays its own
  ASSERT_TRUE(exits_within(escaped, 10s));
  EXPECT_EQ(test_children().reap_strays(), 2u);
}

// The command is reached through its pidfd wherever it goes: leaving its group, whose id then
// names no process, does not spare it SIGTERM nor SIGKILL.
TEST(Process, ACommandThatLeavesItsGroupIsStillStoppedAndKilled) {
  const std::string marker = "987.6544";
  std::stop_source stop;
  const std::jthread stopper = stop_once(
      stop,
      [&] {
        const auto found = processes_with(marker);
        return !found.empty() && getpgid(found[0]) != found[0];
      },
      "the command never left its group");
  process_spec s;
  // Into the group of its parent (this process), the one other group it may join.
  s.argv = {"/usr/bin/perl", "-e",
            "$SIG{TERM} = 'IGNORE'; setpgrp(0, getpgrp(getppid())) or die; sleep 987", marker};
  s.kill_grace = 200ms;
  const auto r = test_children().run(s, "", stop.get_token());
  EXPECT_TRUE(r.stop_requested);
  EXPECT_EQ(r.terminated_with, SIGKILL);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_TRUE(processes_with(marker).empty());
}

// Orphans of a running job's processes are this process's children, and a sweep (jobd's runs
// every second) reaps them as they exit: they are not left as zombies for the life of the job.
TEST(Process, AStraySweepReapsTheOrphansOfARunningJob) {
  const std::string pid_file = ::testing::TempDir() + "orphan-" + std::to_string(getpid()) + ".pid";
  std::stop_source stop;
  process_result r;
  std::jthread job([&] {
    r = test_children().run(shell("(sh -c 'echo $$ > " + pid_file + ".part && mv " + pid_file +
                                  ".part " + pid_file + "' &); exec sleep 987.6545"),
                            "", stop.get_token());
  });
  std::string text;
  const bool written = eventually([&] {
    std::ifstream in(pid_file);
    return static_cast<bool>(std::getline(in, text));
  });
  if (!written) stop.request_stop();
  ASSERT_TRUE(written) << "the orphan never said its pid";
  std::remove(pid_file.c_str());
  const pid_t orphan = std::stoi(text);
  ASSERT_TRUE(exits_within(orphan, 10s));
  EXPECT_EQ(status_of(orphan).state, 'Z');
  EXPECT_EQ(test_children().reap_strays(), 1u);  // while its job, in its group, still runs
  EXPECT_EQ(status_of(orphan).state, '\0');
  stop.request_stop();
  job.join();
  EXPECT_TRUE(r.stop_requested);
  EXPECT_EQ(r.terminated_with, SIGTERM);
}

// A stopped process is continued along with SIGTERM, so that it can act on it rather than be
// killed at the end of the grace as if it had ignored it.
TEST(Process, AStoppedProcessIsContinuedToActOnSigterm) {
  const std::string marker = "987.6546";
  std::stop_source stop;
  const std::jthread stopper = stop_once(
      stop,
      [&] {
        const auto found = processes_with(marker);
        return !found.empty() && status_of(found[0]).state == 'T';
      },
      "the command never stopped itself");
  const auto r = test_children().run(shell("trap 'exit 3' TERM; kill -STOP $$; sleep " + marker),
                                     "", stop.get_token());
  EXPECT_TRUE(r.stop_requested);
  EXPECT_EQ(r.terminated_with, SIGTERM);
  EXPECT_EQ(r.exit_code, 3);
}

// Worker threads keep a fine timer slack for their own deadlines; a command gets the process's.
TEST(Process, ACommandStartsWithTheProcesssTimerSlackNotItsThreads) {
  const auto process_slack = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
  child_processes& children = test_children();  // made here, as jobd makes it before its threads
  process_result r;
  std::jthread worker([&] {
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    r = children.run(shell("cat /proc/self/timerslack_ns"), "", {});
    EXPECT_EQ(prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL), 1);  // and the thread keeps its own
  });
  worker.join();
  EXPECT_NE(process_slack, 1);
  EXPECT_EQ(r.out, std::to_string(process_slack) + "\n");
}

// No grace at all still waits for the group to die after SIGKILL, and for the command's status.
TEST(Process, WithNoGraceSigkillStillWaitsForTheGroupToDie) {
  const std::string marker = "987.6549";
  std::stop_source stop;
  // Once the sleep runs, SIGTERM is ignored (the shell set that before starting it).
  const std::jthread stopper = stop_once(
      stop,
      [&] {
        for (const pid_t pid : processes_with(marker)) {
          std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
          std::string name;
          if (std::getline(comm, name) && name == "sleep") return true;
        }
        return false;
      },
      "the sleep never started");
  process_spec s = shell("trap '' TERM; sleep " + marker);
  s.kill_grace = 0ms;
  const auto r = test_children().run(s, "", stop.get_token());
  EXPECT_EQ(r.terminated_with, SIGKILL);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_TRUE(processes_with(marker).empty());
}

// SIGCHLD inherited as ignored would have the kernel reap every command before its job could
// learn how it ended.
TEST(Process, ACommandsStatusIsKeptEvenIfSigchldWasIgnoredAtStart) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGCHLD, &ignore, nullptr);
  child_processes children;  // made after the change, as jobd makes its one at start-up
  EXPECT_EQ(children.run(shell("exit 3"), "", {}).exit_code, 3);
  // Ignored later behind its back, the status is lost, but the job still ends.
  sigaction(SIGCHLD, &ignore, nullptr);
  const auto r = children.run(shell("exit 3"), "", {});
  EXPECT_FALSE(r.exit_code);
  EXPECT_FALSE(r.signal);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, nullptr);
}

TEST(Process, AProgramThatCannotStartIsASpawnError) {
  process_spec s;
  s.argv = {"/nonexistent/program"};
  EXPECT_THROW((void)test_children().run(s, "", {}), spawn_error);
}

// Out of descriptors once the child runs (its pipes took the last ones): the child is ended and
// reaped, nothing leaks, and the error says why.
TEST(Process, AChildThatCannotBeWatchedIsEndedWithAClearError) {
  const int before = open_fds();
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  // Descriptors take the lowest free number: with the gaps below the highest one filled, a
  // limit six above it leaves room for the three pipes and nothing more.
  int highest = -1;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(d)) highest = std::max(highest, std::atoi(e->d_name));
    closedir(d);
  }
  std::vector<int> fillers;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
    fillers.push_back(fd);
    if (fd > highest) break;
  }
  ASSERT_FALSE(fillers.empty());
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(fillers.back() + 1 + 6);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::string error;
  try {
    (void)test_children().run(shell("exit 0"), "", {});
  } catch (const spawn_error& e) {
    error = e.what();
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  for (int fd : fillers) close(fd);
  EXPECT_EQ(error, "cannot watch the child: Too many open files");
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // the child was reaped
  EXPECT_EQ(errno, ECHILD);
}

TEST(Process, LeavesNoDescriptorAndNoZombieBehind) {
  const int before = open_fds();
  for (int i = 0; i < 20; ++i) (void)test_children().run(shell("echo $$"), "in", {});
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // no child left, not even a zombie
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace jobd::handlers
