using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace IlgpuGan.Model.Interop;

/// <summary>
/// A generator as an ONNX model for inference: input z [N, zDim], output images [N, pixels], the layers as ONNX ops
/// one for one (Gemm with transB as nn.Linear, LeakyRelu, BatchNormalization on the running statistics as
/// <c>sample --bn eval</c>, Tanh). BatchNorm is kept as its own op rather than folded into a Linear, so the file
/// computes what our kernels compute. Opset 15 with IR version 8: what Debian's python3-onnx 1.12 checker reads
/// and ONNX Runtime runs.
/// </summary>
public static class OnnxGenerator
{
    /// <summary>The ONNX opset the export uses.</summary>
    public const int Opset = 15;
    /// <summary>The ONNX IR version of the export.</summary>
    public const long IrVersion = 8;
    /// <summary>The names of the graph's input (noise) and output (images).</summary>
    public const string Input = "z", Output = "images";

    /// <summary>The model of <paramref name="generator"/>'s layers holding <paramref name="parameters"/> and <paramref name="state"/>.</summary>
    public static ModelProto Build(Generator generator, float[] parameters, float[] state, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = new GraphProto { Name = "generator" };
        graph.Input.Add(Value(Input, generator.In));
        graph.Output.Add(Value(Output, generator.Out));
        string x = Input;
        void Initializer(TensorSlot slot, float[] values) => graph.Initializer.Add(new TensorProto
        {
            Name = slot.Name,
            DataType = (int)TensorProto.Types.DataType.Float,
            Dims = { slot.Shape.Select(d => (long)d) },
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan(slot.Offset, slot.Length))),
        });
        void Node(string op, IEnumerable<string> inputs, params AttributeProto[] attributes)
        {
            var output = $"{op}_{graph.Node.Count}";
            graph.Node.Add(new NodeProto { OpType = op, Name = output, Input = { inputs.Prepend(x) }, Output = { output }, Attribute = { attributes } });
            x = output;
        }
        foreach (var layer in generator.Layers)
        {
            switch (layer)
            {
                case Linear linear:
                    Initializer(linear.Weight, parameters);
                    Initializer(linear.BiasSlot, parameters);
                    Node("Gemm", [linear.Weight.Name, linear.BiasSlot.Name], Int("transB", 1));
                    if (linear.FusedLeakyReluSlope is { } slope) Node("LeakyRelu", [], Float("alpha", slope));
                    break;
                case LeakyRelu activation:
                    Node("LeakyRelu", [], Float("alpha", activation.Slope));
                    break;
                case BatchNorm1d norm:
                    Initializer(norm.Gamma, parameters);
                    Initializer(norm.Beta, parameters);
                    Initializer(norm.RunningMean, state);
                    Initializer(norm.RunningVar, state);
                    Node("BatchNormalization", [norm.Gamma.Name, norm.Beta.Name, norm.RunningMean.Name, norm.RunningVar.Name],
                        Float("epsilon", Generator.BatchNormEps));
                    if (norm.FusedLeakyReluSlope is { } normSlope) Node("LeakyRelu", [], Float("alpha", normSlope));
                    break;
                case ElementWiseActivation activation:
                    Node(activation.Function, []);
                    break;
                default:
                    throw new NotSupportedException($"no ONNX op for the layer {layer.GetType().Name}");
            }
        }
        graph.Node[^1].Output[0] = Output;
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "ilgpugan",
            Graph = graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
        };
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, ModelProto model) => AtomicFile.Write(path, model.WriteTo);

    /// <summary>A float tensor [N, features] whose batch dimension N is free.</summary>
    static ValueInfoProto Value(string name, int features) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            TensorType = new TypeProto.Types.Tensor
            {
                ElemType = (int)TensorProto.Types.DataType.Float,
                Shape = new TensorShapeProto
                {
                    Dim =
                    {
                        new TensorShapeProto.Types.Dimension { DimParam = "N" },
                        new TensorShapeProto.Types.Dimension { DimValue = features },
                    },
                },
            },
        },
    };

    static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
}
