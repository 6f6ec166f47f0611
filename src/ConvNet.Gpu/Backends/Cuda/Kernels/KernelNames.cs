namespace ConvNet.Gpu.Backends.Cuda.Kernels;

/// <summary>The extern "C" names of the kernels in kernels/*.cu, one constant per kernel, grouped by source file.</summary>
internal static class KernelNames
{
    // im2col.cu
    public const string Im2Col = "cn_im2col";
    public const string Col2Im = "cn_col2im";
    public const string SwapOuter = "cn_swap_outer";

    // pooling.cu
    public const string MaxPoolForward = "cn_maxpool_fwd";
    public const string MaxPoolBackward = "cn_maxpool_bwd";
    public const string AvgPoolForward = "cn_avgpool_fwd";
    public const string AvgPoolBackward = "cn_avgpool_bwd";

    // upsample.cu
    public const string UpsampleNearestForward = "cn_upsample_nearest_fwd";
    public const string UpsampleNearestBackward = "cn_upsample_nearest_bwd";

    // activation.cu
    public const string ActivationForward = "cn_activation_fwd";
    public const string ActivationBackward = "cn_activation_bwd";

    // softmax_loss.cu
    public const string SoftmaxForward = "cn_softmax_fwd";
    public const string SoftmaxBackward = "cn_softmax_bwd";
    public const string SoftmaxCrossEntropyForward = "cn_softmax_xent_fwd";
    public const string SoftmaxCrossEntropyBackward = "cn_softmax_xent_bwd";
    public const string FocalLossBackward = "cn_focal_bwd";
    public const string SoftmaxForwardRows = "cn_softmax_fwd_rows";
    public const string SoftmaxBackwardRows = "cn_softmax_bwd_rows";
    public const string SoftmaxCrossEntropyForwardRows = "cn_softmax_xent_fwd_rows";
    public const string ClassifyStep = "cn_classify_step";

    // dropout.cu
    public const string DropoutForward = "cn_dropout_fwd";
    public const string DropoutForwardDevice = "cn_dropout_fwd_dev";

    // elementwise.cu
    public const string Fill = "cn_fill";
    public const string Add = "cn_add";
    public const string Mul = "cn_mul";
    public const string Scale = "cn_scale";
    public const string Axpy = "cn_axpy";
    public const string ChannelAffine = "cn_channel_affine";

    // reduce.cu
    public const string ReduceSumSerial = "cn_reduce_sum_serial";
    public const string ReduceSumBlock = "cn_reduce_sum_block";
    public const string ChannelSum = "cn_channel_sum";

    // batchnorm.cu
    public const string BatchNormForwardPartials = "cn_bn_fwd_partials";
    public const string BatchNormForwardApply = "cn_bn_fwd_apply";
    public const string BatchNormForwardInference = "cn_batchnorm_fwd_infer";
    public const string BatchNormBackwardPartials = "cn_bn_bwd_partials";
    public const string BatchNormBackwardApply = "cn_bn_bwd_apply";

    // epilogue.cu
    public const string BiasActivationForward = "cn_bias_act_fwd";
    public const string ConvBackwardPrologue = "cn_conv_bwd_prologue";
    public const string DenseBackwardPrologue = "cn_dense_bwd_prologue";

    // optimizer.cu
    public const string SgdStep = "cn_sgd_step";
    public const string AdamStep = "cn_adam_step";
    public const string SgdMulti = "cn_sgd_multi";
    public const string AdamMulti = "cn_adam_multi";

    // conv_igemm.cu (the _async and _tf32 kernels are sm_80 only)
    public const string ImplicitForwardF32 = "cn_igemm_fwd_f32";
    public const string ImplicitBackwardDataF32 = "cn_igemm_dgrad_f32";
    public const string ImplicitBackwardWeightsF32 = "cn_igemm_wgrad_f32";
    public const string ImplicitBackwardWeightsReduce = "cn_igemm_wgrad_reduce";
    public const string ImplicitForwardF32Async = "cn_igemm_fwd_f32_async";
    public const string ImplicitBackwardDataF32Async = "cn_igemm_dgrad_f32_async";
    public const string ImplicitBackwardWeightsF32Async = "cn_igemm_wgrad_f32_async";
    public const string ImplicitForwardTf32 = "cn_igemm_fwd_tf32";
    public const string ImplicitBackwardDataTf32 = "cn_igemm_dgrad_tf32";
    public const string ImplicitBackwardWeightsTf32 = "cn_igemm_wgrad_tf32";

    // conv_depthwise.cu
    public const string DepthwiseForward = "cn_dw_fwd";
    public const string DepthwiseBackwardData = "cn_dw_dgrad";
    public const string DepthwiseBackwardWeights = "cn_dw_wgrad";

    // device_probe.cu: the warp, tensor-core and cp.async wrappers exercised on their own (tests; sm_80 ones marked)
    public const string ProbeShuffle = "cn_probe_shfl";
    public const string ProbeVote = "cn_probe_vote";
    public const string ProbeWarpSum = "cn_probe_warp_sum";
    public const string ProbeTf32 = "cn_probe_tf32";            // sm_80
    public const string ProbeMmaTf32 = "cn_probe_mma_tf32";     // sm_80
    public const string ProbeCpAsync = "cn_probe_cp_async";     // sm_80
}
