// Forward passes over a whole split, no dropout: mean loss and the confusion matrix. With a
// communicator each rank evaluates its stride of the split and the counts are summed, so every
// rank ends with the same result.
#pragma once

#include <functional>
#include <memory>

#include "comm/communicator.h"
#include "engine/metrics.h"
#include "engine/model_runner.h"
#include "engine/replicated_model.h"
#include "io/dataset.h"

namespace engine {

struct EvalResult {
  double loss = 0;  // mean over examples
  ConfusionMatrix confusion;
  explicit EvalResult(int classes) : confusion(classes) {}
};

// Any model's forward pass over one batch.
using BatchEvaluator = std::function<StepResult(const io::Batch&)>;

EvalResult evaluate_split(const BatchEvaluator& evaluate, int classes,
                          std::shared_ptr<const io::SplitData> data, std::size_t batch_size,
                          comm::Communicator* comm = nullptr);
EvalResult evaluate_split(ReplicatedModel& model, std::shared_ptr<const io::SplitData> data,
                          std::size_t batch_size, comm::Communicator* comm = nullptr);
EvalResult evaluate_split(ModelRunner& runner, std::shared_ptr<const io::SplitData> data,
                          std::size_t batch_size, comm::Communicator* comm = nullptr);

}  // namespace engine
