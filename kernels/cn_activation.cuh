// cn_activation.cuh: the point-wise activations, shared by the activation kernels and the fused epilogues of the
// convolution kernels. kind follows ConvNet.Gpu.ActivationKind: 0 ReLU, 1 LeakyReLU (alpha = negative slope),
// 2 ELU (alpha = saturation), 3 Sigmoid, 4 Tanh; cn_epilogue_act also takes -1 = none (identity).
#pragma once
#include "cn_runtime.cuh"

CN_DEVICE float cn_act(int kind, float alpha, float v)
{
    switch (kind)
    {
        case 0: return v > 0.0f ? v : 0.0f;
        case 1: return v > 0.0f ? v : alpha * v;
        case 2: return v > 0.0f ? v : alpha * cn_expm1f(v);
        case 3: return 1.0f / (1.0f + cn_expf(-v));
        default: return cn_tanhf(v);
    }
}

// The activation of a fused epilogue: kind -1 leaves v unchanged.
CN_DEVICE float cn_epilogue_act(int kind, float alpha, float v) { return kind < 0 ? v : cn_act(kind, alpha, v); }
