// cn_step_state.cuh: the layouts of the small device buffers that carry a training step's changing values, shared by
// the kernels and by C# (ConvNet.Gpu.StepScalars and ConvNet.Gpu.ClassificationMetrics mirror these numbers; a test
// checks they agree).
//
// Optimizer step scalars (int32 words, uploaded by the host before each step):
//   [CN_SCALAR_LR]   learning rate (float bits)
//   [CN_SCALAR_STEP] step number t of this update, counting every step issued (1-based); Adam subtracts the steps the
//                    device skipped (guard word CN_GUARD_SKIPPED) to get its bias-correction t
//
// Metrics words (int32, written by the classification-step kernel; the first four form the guard the optimizer reads):
//   [CN_METRICS_STEPS]          training steps recorded since the buffer was created
//   [CN_METRICS_SKIPPED]        steps whose update was skipped for a non-finite loss (SkipUpdate policy)
//   [CN_METRICS_NONFINITE]      1 when the latest step's loss was not finite
//   [CN_METRICS_STOP]           1 from the first non-finite loss on under the Throw policy: no update runs any more
//   [CN_METRICS_FIRST_BAD]      1 + index (in recorded steps) of the first non-finite loss, 0 while there is none
//   epoch region from CN_METRICS_EPOCH (zeroed by the host at each epoch start, one memset):
//   [CN_METRICS_SEEN]           samples of the steps counted (non-finite steps are not counted)
//   [CN_METRICS_CORRECT]        of those, samples whose most probable class was the label
//   [CN_METRICS_LOSS_SUM]       (a double, 8-byte aligned) sum over counted steps of mean loss * batch size
//   [CN_METRICS_CONFUSION ...]  classes x classes counts, row = label, column = prediction
//   then a ring of `capacity` per-step slots, from CN_METRICS_CONFUSION + classes^2 rounded up to even:
//   step losses (float bits), then step correct counts; slot = recorded step index % capacity.
#pragma once

#define CN_SCALAR_LR 0
#define CN_SCALAR_STEP 1
#define CN_SCALAR_WORDS 4

#define CN_METRICS_STEPS 0
#define CN_METRICS_SKIPPED 1
#define CN_METRICS_NONFINITE 2
#define CN_METRICS_STOP 3
#define CN_METRICS_FIRST_BAD 4
#define CN_METRICS_EPOCH 8
#define CN_METRICS_SEEN 8
#define CN_METRICS_CORRECT 9
#define CN_METRICS_LOSS_SUM 10
#define CN_METRICS_CONFUSION 16

// Guard words as the optimizer sees them, relative to CN_METRICS_SKIPPED.
#define CN_GUARD_SKIPPED 0
#define CN_GUARD_NONFINITE 1
#define CN_GUARD_STOP 2
