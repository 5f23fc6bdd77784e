// Forward passes over a whole split, no dropout: mean loss and the confusion matrix.
#pragma once

#include <memory>

#include "engine/metrics.h"
#include "engine/replicated_model.h"
#include "io/dataset.h"

namespace engine {

struct EvalResult {
  double loss = 0;  // mean over examples
  ConfusionMatrix confusion;
  explicit EvalResult(int classes) : confusion(classes) {}
};

EvalResult evaluate_split(ReplicatedModel& model, std::shared_ptr<const io::SplitData> data,
                          std::size_t batch_size);

}  // namespace engine
