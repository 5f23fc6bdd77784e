#include "engine/evaluate.h"

#include "io/loader.h"

namespace engine {

EvalResult evaluate_split(const BatchEvaluator& evaluate, int classes,
                          std::shared_ptr<const io::SplitData> data, std::size_t batch_size,
                          comm::Communicator* comm) {
  EvalResult result(classes);
  const int rank = comm != nullptr ? comm->rank() : 0, world = comm != nullptr ? comm->size() : 1;
  io::BatchLoader loader(std::move(data), {.batch_size = batch_size,
                                           .shuffle = false,
                                           .rank = rank,
                                           .world_size = world,
                                           .bucket_batches = 20});
  io::Batch batch;
  double loss_sum = 0;
  while (loader.next(batch)) {
    const StepResult step = evaluate(batch);
    loss_sum += step.loss_sum;
    for (std::size_t r = 0; r < batch.rows; ++r)
      result.confusion.add(batch.labels[r], step.predictions[r]);
  }
  if (comm != nullptr) {
    comm->allreduce_sum(result.confusion.counts());
    comm->allreduce_sum(std::span<double>(&loss_sum, 1));
  }
  const auto n = result.confusion.total();
  result.loss = n == 0 ? 0.0 : loss_sum / static_cast<double>(n);
  return result;
}

EvalResult evaluate_split(ReplicatedModel& model, std::shared_ptr<const io::SplitData> data,
                          std::size_t batch_size, comm::Communicator* comm) {
  return evaluate_split([&model](const io::Batch& batch) { return model.evaluate(batch); },
                        model.config().classes, std::move(data), batch_size, comm);
}

EvalResult evaluate_split(ModelRunner& runner, std::shared_ptr<const io::SplitData> data,
                          std::size_t batch_size, comm::Communicator* comm) {
  return evaluate_split([&runner](const io::Batch& batch) { return runner.evaluate(batch); },
                        runner.host_model().config().classes, std::move(data), batch_size, comm);
}

}  // namespace engine
