#include "engine/evaluate.h"

#include "io/loader.h"

namespace engine {

EvalResult evaluate_split(ReplicatedModel& model, std::shared_ptr<const io::SplitData> data,
                          std::size_t batch_size) {
  EvalResult result(model.config().classes);
  io::BatchLoader loader(std::move(data),
                         {.batch_size = batch_size, .shuffle = false, .bucket_batches = 20});
  io::Batch batch;
  double loss_sum = 0;
  while (loader.next(batch)) {
    const StepResult step = model.evaluate(batch);
    loss_sum += step.loss_sum;
    for (std::size_t r = 0; r < batch.rows; ++r)
      result.confusion.add(batch.labels[r], step.predictions[r]);
  }
  const auto n = result.confusion.total();
  result.loss = n == 0 ? 0.0 : loss_sum / static_cast<double>(n);
  return result;
}

}  // namespace engine
