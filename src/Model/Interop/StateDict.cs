using System.Globalization;
using System.Text.Json;

namespace IlgpuGan.Model.Interop;

/// <summary>
/// A network's tensors as the state_dict of the seed's PyTorch module (tests/reference/make_golden.py's Generator and
/// Discriminator): our layers register PyTorch's names (fc1.weight [out, in], bn1.running_var, ...) and layouts, so
/// the names go across unchanged and <c>G.load_state_dict</c> needs no renaming.
/// </summary>
public static class StateDict
{
    const string BatchesTracked = ".num_batches_tracked";

    /// <summary>
    /// The state_dict of <paramref name="network"/> holding <paramref name="parameters"/> and <paramref name="state"/>
    /// (its flat buffers' contents). BatchNorm1d's num_batches_tracked is an I64 scalar in PyTorch, so it is written as
    /// one: <paramref name="batchesTracked"/>, the count of train-mode forwards. PyTorch reads it only when momentum is
    /// None, which the seed's is not.
    /// </summary>
    public static List<(string Name, SafeTensor Tensor)> Of(Network network, float[] parameters, float[] state, long batchesTracked)
    {
        var tensors = new List<(string, SafeTensor)>();
        foreach (var slot in network.Store.Parameters.Slots)
            tensors.Add((slot.Name, SafeTensor.Float32(parameters.AsSpan(slot.Offset, slot.Length), slot.Shape)));
        foreach (var slot in network.Store.State.Slots)
            tensors.Add((slot.Name, SafeTensor.Float32(state.AsSpan(slot.Offset, slot.Length), slot.Shape)));
        foreach (var norm in network.Layers.OfType<BatchNorm1d>())
            tensors.Add((ModuleName(norm.RunningVar) + BatchesTracked, SafeTensor.Int64Scalar(batchesTracked)));
        return tensors;
    }

    /// <summary>
    /// The flat parameter and state buffers of <paramref name="network"/> from a state_dict, which must hold exactly the
    /// network's tensors, F32 in its shapes (num_batches_tracked: an I64 scalar, whose value is not kept); every problem
    /// is named in the <see cref="CheckpointException"/>.
    /// </summary>
    public static (float[] Parameters, float[] State) Into(Network network, IReadOnlyDictionary<string, SafeTensor> tensors,
        string path, string networkName)
    {
        var parameters = new float[network.Store.Parameters.Length];
        var state = new float[network.Store.State.Length];
        var problems = new List<string>();
        var expected = new HashSet<string>();
        void Take(TensorSlot slot, float[] into)
        {
            expected.Add(slot.Name);
            if (!tensors.TryGetValue(slot.Name, out var tensor)) problems.Add($"no tensor {slot.Name}");
            else if (tensor.Dtype != "F32") problems.Add($"{slot.Name} is {Printable.Escape(tensor.Dtype)}, IlgpuGan reads F32 only");
            else if (!tensor.Shape.SequenceEqual(slot.Shape.Select(d => (long)d)))
                problems.Add($"{slot.Name} has shape {tensor.ShapeText}, the {networkName} needs [{string.Join(", ", slot.Shape)}]");
            else tensor.ToFloats().CopyTo(into, slot.Offset);
        }
        foreach (var slot in network.Store.Parameters.Slots) Take(slot, parameters);
        foreach (var slot in network.Store.State.Slots) Take(slot, state);
        foreach (var norm in network.Layers.OfType<BatchNorm1d>())
        {
            var name = ModuleName(norm.RunningVar) + BatchesTracked;
            expected.Add(name);
            // Optional, as PyTorch's loader fills in 0 for it.
            if (!tensors.TryGetValue(name, out var tensor)) continue;
            if (tensor.Dtype != "I64" || tensor.Shape.Length != 0)
                problems.Add($"{name} is {Printable.Escape(tensor.Dtype)} {tensor.ShapeText}, PyTorch's is an I64 scalar []");
        }
        problems.AddRange(tensors.Keys.Where(name => !expected.Contains(name)).Order(StringComparer.Ordinal)
            .Select(name => $"unexpected tensor {Printable.Escape(name)}"));
        if (problems.Count > 0)
            throw new CheckpointException($"{path}: not the state_dict of this {networkName}: {string.Join("; ", problems)}");
        return (parameters, state);
    }

    static string ModuleName(TensorSlot slot) => slot.Name[..slot.Name.LastIndexOf('.')];

    /// <summary>Metadata keys: a safetensors header holds strings only.</summary>
    public const string NetworkKey = "network", ZDimKey = "z_dim", ImagePixelsKey = "image_pixels",
        ImageShapeKey = "image_shape",
        GeneratorWidthsKey = "generator_widths", DiscriminatorWidthsKey = "discriminator_widths", TanhKey = "tanh_output",
        BatchNormKey = "batchnorm", WeightsKey = "weights", StepKey = "step", ConfigKey = "ilgpugan_config";

    /// <summary>The metadata values of G's BatchNorm placement.</summary>
    public const string BatchNormAfter = "after_activation", BatchNormBefore = "before_activation";

    /// <summary>
    /// The recipe as a file's metadata: the architecture keys a PyTorch script builds the seed's network from, and our
    /// whole config (JSON) so that an import of our own export trains on with the same recipe.
    /// </summary>
    public static Dictionary<string, string> Metadata(GanConfig config, string network, string weights, long step) => new()
    {
        ["format"] = "pt",
        [NetworkKey] = network,
        [ZDimKey] = Invariant(config.ZDim),
        [ImagePixelsKey] = Invariant(config.ImagePixels),
        [ImageShapeKey] = $"{config.Image.Channels},{config.Image.Height},{config.Image.Width}",
        [GeneratorWidthsKey] = string.Join(',', config.GeneratorWidths),
        [DiscriminatorWidthsKey] = string.Join(',', config.DiscriminatorWidths),
        [TanhKey] = config.TanhOutput ? "true" : "false",
        [BatchNormKey] = config.BatchNormBeforeActivation ? BatchNormBefore : BatchNormAfter,
        [WeightsKey] = weights,
        [StepKey] = Invariant(step),
        [ConfigKey] = JsonSerializer.Serialize(config),
    };

    /// <summary>
    /// <paramref name="config"/> with the architecture the metadata gives (a key absent keeps the config's value), or
    /// the config the metadata carries when <paramref name="useCarriedConfig"/> and it has one; validated by
    /// <see cref="GanConfig.Problem"/> before anything of its size is built.
    /// </summary>
    public static GanConfig Apply(IReadOnlyDictionary<string, string> metadata, GanConfig config, bool useCarriedConfig, string path)
    {
        var applied = Read(metadata, config, useCarriedConfig, path);
        return applied.Problem() is { } problem
            ? throw new CheckpointException($"{path}: the recipe in the metadata is out of range: {problem}")
            : applied;
    }

    static GanConfig Read(IReadOnlyDictionary<string, string> metadata, GanConfig config, bool useCarriedConfig, string path)
    {
        try
        {
            if (useCarriedConfig && metadata.TryGetValue(ConfigKey, out var json))
                return JsonSerializer.Deserialize<GanConfig>(json) ?? throw new JsonException("null config");
            return config with
            {
                ZDim = metadata.TryGetValue(ZDimKey, out var z) ? int.Parse(z, CultureInfo.InvariantCulture) : config.ZDim,
                Image = Image(metadata, config.Image),
                GeneratorWidths = metadata.TryGetValue(GeneratorWidthsKey, out var g) ? Widths(g) : config.GeneratorWidths,
                DiscriminatorWidths = metadata.TryGetValue(DiscriminatorWidthsKey, out var d) ? Widths(d) : config.DiscriminatorWidths,
                TanhOutput = metadata.TryGetValue(TanhKey, out var t) ? bool.Parse(t) : config.TanhOutput,
                BatchNormBeforeActivation = metadata.TryGetValue(BatchNormKey, out var b)
                    ? b switch
                    {
                        BatchNormBefore => true,
                        BatchNormAfter => false,
                        _ => throw new FormatException($"{BatchNormKey} is '{Printable.Escape(b)}', not {BatchNormBefore} or {BatchNormAfter}"),
                    }
                    : config.BatchNormBeforeActivation,
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException or NotSupportedException)
        {
            throw new CheckpointException($"{path}: unreadable recipe in the metadata ({Printable.Escape(e.Message)})");
        }
    }

    /// <summary>
    /// The shape image_shape gives as "C,H,W". A file without it (exports from before it) holds MNIST's images, so its
    /// image_pixels may say 784 only; absent both, the config's shape stays.
    /// </summary>
    static ImageShape Image(IReadOnlyDictionary<string, string> metadata, ImageShape shape)
    {
        if (metadata.TryGetValue(ImageShapeKey, out var text))
        {
            var sizes = Widths(text);
            if (sizes.Length != 3) throw new FormatException($"{ImageShapeKey} is '{Printable.Escape(text)}', not channels,height,width");
            shape = new ImageShape(sizes[0], sizes[1], sizes[2]);
        }
        else if (metadata.ContainsKey(ImagePixelsKey)) shape = ImageShape.Mnist;
        if (metadata.TryGetValue(ImagePixelsKey, out var pixels) && shape.Problem(GanConfig.MaxFeatures) is null
            && int.Parse(pixels, CultureInfo.InvariantCulture) != shape.Pixels)
            throw new FormatException($"{ImagePixelsKey} is {Printable.Escape(pixels)}, but images of {shape} have {shape.Pixels}");
        return shape;
    }

    static int[] Widths(string text) => text.Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();

    static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
