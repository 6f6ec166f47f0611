using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu;

/// <summary>
/// <c>model.Save(path)</c> and <c>Model.Load(path, backend)</c>: the entry point to <see cref="ModelCheckpoint"/> for any model.
/// </summary>
public static class ModelFiles
{
    extension(Model model)
    {
        /// <summary>Saves architecture, weights, running statistics and dropout RNG to a checkpoint file (written atomically); see <see cref="ModelCheckpoint.Save"/>.</summary>
        public void Save(string path) => ModelCheckpoint.Save(path, model);

        /// <summary>Rebuilds a model of any kind from a checkpoint alone, on any backend; see <see cref="ModelCheckpoint.LoadModel"/>.</summary>
        public static Model Load(string path, IBackend backend) => ModelCheckpoint.LoadModel(path, backend);
    }
}

/// <summary><c>Sequential.Load(path, backend)</c>: the entry point to <see cref="ModelCheckpoint.LoadModel"/> for stack-of-layers models.</summary>
public static class SequentialFiles
{
    extension(Sequential)
    {
        /// <summary>Rebuilds a <see cref="Sequential"/> model from a checkpoint alone, on any backend (checkpoints are device independent).</summary>
        /// <exception cref="ConvNetArgumentException">The checkpoint holds another kind of model (load it with <c>Model.Load</c>).</exception>
        public static Sequential Load(string path, IBackend backend)
        {
            var model = ModelCheckpoint.LoadModel(path, backend);
            if (model is Sequential sequential) return sequential;
            string kind = model.GetType().Name;
            model.Dispose();
            throw new ConvNetArgumentException($"Checkpoint '{path}' holds a {kind} model, not a Sequential one; load it with Model.Load.", nameof(path));
        }
    }
}
