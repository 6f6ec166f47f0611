// cn_channel_walk.cuh: iterate over one channel of a tensor viewed as (N, C, inner) without a 64-bit division per
// element. Thread t of a block visits the channel's flat indices j = t, t + B, t + 2B, ... of [0, N*inner) in order
// (so per-thread partial sums have a fixed order), tracking n = j / inner and i = j % inner incrementally.
#pragma once

// for (each j = start, start + step, ... < N*inner): `at` is the storage offset (n*C + c)*inner + i of element j.
#define CN_FOR_CHANNEL(at, c, N, C, inner, start, step)                                                  \
    for (long long n_ = (long long)(start) / (inner), i_ = (long long)(start) % (inner),                 \
                   sn_ = (long long)(step) / (inner), si_ = (long long)(step) % (inner),                 \
                   at = (n_ * (C) + (c)) * (inner) + i_;                                                 \
         n_ < (N);                                                                                       \
         n_ += sn_, i_ += si_, (void)(i_ >= (inner) ? (i_ -= (inner), ++n_) : 0LL),                      \
                   at = (n_ * (C) + (c)) * (inner) + i_)

// The same walk restricted to flat indices j in [begin, end) of the channel, in steps of `step` (j is declared too):
// one division by inner when the loop starts, then increments, as above.
#define CN_FOR_CHANNEL_RANGE(at, j, c, C, inner, begin, end, step)                                       \
    for (long long j = (begin), n_ = (long long)(begin) / (inner), i_ = (long long)(begin) % (inner),    \
                   sn_ = (long long)(step) / (inner), si_ = (long long)(step) % (inner),                 \
                   at = (n_ * (C) + (c)) * (inner) + i_;                                                 \
         j < (end);                                                                                      \
         j += (step), n_ += sn_, i_ += si_, (void)(i_ >= (inner) ? (i_ -= (inner), ++n_) : 0LL),         \
                   at = (n_ * (C) + (c)) * (inner) + i_)
