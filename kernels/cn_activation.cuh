// cn_activation.cuh: the point-wise activations, shared by activation.cu, the fused epilogues of epilogue.cu and those of
// the convolution kernels (cn_igemm_ops.cuh, conv_depthwise.cu).
// kind follows ConvNet.Gpu.ActivationKind: 0 ReLU, 1 LeakyReLU (alpha = negative slope), 2 ELU (alpha = saturation),
// 3 Sigmoid, 4 Tanh; CN_ACT_NONE (-1) is the identity (used by the epilogues when only a bias is fused).
#pragma once
#include "cn_runtime.cuh"

#define CN_ACT_NONE (-1)

CN_DEVICE float cn_act(int kind, float alpha, float v)
{
    switch (kind)
    {
        case CN_ACT_NONE: return v;
        case 0: return v > 0.0f ? v : 0.0f;
        case 1: return v > 0.0f ? v : alpha * v;
        case 2: return v > 0.0f ? v : alpha * cn_expm1f(v);
        case 3: return 1.0f / (1.0f + cn_expf(-v));
        default: return cn_tanhf(v);
    }
}

// The activation of a fused epilogue (the convolution kernels' name for it): kind CN_ACT_NONE leaves v unchanged.
CN_DEVICE float cn_epilogue_act(int kind, float alpha, float v) { return cn_act(kind, alpha, v); }

// dL/dx from dL/dy = g and the output y = f(x) alone, as the fused backward passes need (they keep no x).
// ReLU, LeakyReLU and ELU test y > 0 in place of x > 0, the same test when alpha >= 0 (the host only fuses those);
// the arithmetic is then exactly cn_activation_bwd's, so fused and unfused layers give the same bits.
CN_DEVICE float cn_act_grad_from_output(int kind, float alpha, float y, float g)
{
    switch (kind)
    {
        case CN_ACT_NONE: return g;
        case 0: return y > 0.0f ? g : 0.0f;
        case 1: return y > 0.0f ? g : alpha * g;
        case 2: return y > 0.0f ? g : g * (y + alpha);
        case 3: return g * y * (1.0f - y);
        default: return g * (1.0f - y * y);
    }
}
