// bench_allreduce: allreduce bandwidth of our communicator against a bare MPI_Allreduce of the
// same float buffer, reported as nccl-tests do: algbw = bytes / time, busbw = algbw * 2(N-1)/N
// (what each link carries in a ring). Run under mpirun: bench_allreduce [MiB] [repeats]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "comm/communicator.h"

int main(int argc, char** argv) {
  auto world = engine::comm::make_default(&argc, &argv);
  const double mib = argc > 1 ? std::atof(argv[1]) : 11.3;  // the default LSTM's gradient arena
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 20;
  const auto count = static_cast<std::size_t>(mib * (1 << 20) / sizeof(float));
  std::vector<float> buffer(count, 1.0f);
  // The two sides alternate round by round, so drifting load hits both alike; medians.
  const auto seconds_of = [&](auto&& reduce) {
    world->barrier();
    const auto start = std::chrono::steady_clock::now();
    reduce();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> ours_runs, bare_runs;
  for (int r = 0; r < repeats + 2; ++r) {
    const double a = seconds_of([&] { world->allreduce_sum(buffer); });
    const double b = seconds_of([&] {
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    });
    if (r >= 2) {  // two warm-up rounds
      ours_runs.push_back(a);
      bare_runs.push_back(b);
    }
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double ours = median(ours_runs), bare = median(bare_runs);
  if (world->is_root()) {
    const double bytes = static_cast<double>(count * sizeof(float));
    const double n = world->size(), factor = n > 1 ? 2 * (n - 1) / n : 1;
    std::printf(
        "ranks=%d bytes=%.0f ours_ms=%.3f bare_ms=%.3f ours_busbw_gbs=%.3f bare_busbw_gbs=%.3f\n",
        world->size(), bytes, 1e3 * ours, 1e3 * bare, bytes / ours * factor / 1e9,
        bytes / bare * factor / 1e9);
  }
  return 0;
}
