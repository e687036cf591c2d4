using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// `train --from`: a new run that starts from another run's checkpoint, with its own options, such as a
/// learning-rate decay over the last epochs. An epoch of batch 8 on the tiny set is 6 steps.
/// </summary>
public sealed class RunFromCheckpointTests : ProgramTests
{
    string data = null!;

    [SetUp]
    public void MakeData() => data = WriteTinyMnist();

    string[] Train(string run, params string[] extra) =>
        ["train", "--data", data, "--out", Folder.File(run), "--batch-size", "8", "--accelerator", "cpu", "--seed", "3", .. extra];

    static Checkpoint.Contents Final(string run) => Checkpoint.Read(Path.Combine(run, RunFolder.CheckpointFile));

    /// <summary>
    /// With the options the source was trained with, the new run is the source's own continuation: its
    /// checkpoint equals the uninterrupted run's tensor for tensor, to the bit.
    /// </summary>
    [TestCase("seed")]
    [TestCase("stable")]
    public void WithTheSameOptionsItContinuesTheRunExactly(string recipe)
    {
        Assert.That(Ilgpugan(Train("whole", "--recipe", recipe, "--epochs", "3", "--keep-every", "1")).Code, Is.EqualTo(0));
        var snapshot = Path.Combine(Folder.File("whole"), RunFolder.SnapshotFolder, "epoch_001.ckpt");

        var (code, output, error) = Ilgpugan(Train("branch", "--recipe", recipe, "--epochs", "3", "--from", snapshot));

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("started from").And.Contain("at step 6 (epoch 2 next)"));
        var (whole, branch) = (Final(Folder.File("whole")), Final(Folder.File("branch")));
        Assert.That(branch.Header.Step, Is.EqualTo(18));
        Assert.That(branch.Tensors.Keys, Is.EquivalentTo(whole.Tensors.Keys));
        foreach (var (name, values) in whole.Tensors) Assert.That(branch.Tensors[name], Is.EqualTo(values), name);
        Assert.That(MetricsTable.Read(Path.Combine(Folder.File("branch"), "metrics.csv")).Column("step"), Is.EqualTo(new double[] { 12, 18 }));
    }

    /// <summary>
    /// A decay that reaches 0 at the source's step: no step of the new run moves a parameter of G or D (Adam's
    /// moments still do), while without the decay they move.
    /// </summary>
    [Test]
    public void ADecayEndedBeforeTheStartLeavesTheParametersWhereTheyWere()
    {
        Assert.That(Ilgpugan(Train("source", "--epochs", "1")).Code, Is.EqualTo(0));
        var source = Final(Folder.File("source"));

        Assert.That(Ilgpugan(Train("decayed", "--epochs", "2", "--from", Folder.File("source"), "--lr-decay-from", "0", "--lr-decay-to", "1")).Code, Is.EqualTo(0));
        Assert.That(Ilgpugan(Train("constant", "--epochs", "2", "--from", Folder.File("source"))).Code, Is.EqualTo(0));

        var (decayed, constant) = (Final(Folder.File("decayed")), Final(Folder.File("constant")));
        foreach (var name in new[] { "G.parameters", "D.parameters" })
        {
            Assert.That(decayed.Tensors[name], Is.EqualTo(source.Tensors[name]), $"{name} with the learning rates at 0");
            Assert.That(constant.Tensors[name], Is.Not.EqualTo(source.Tensors[name]), $"{name} with the learning rates on");
        }
        Assert.That(decayed.Tensors["G.adam_m"], Is.Not.EqualTo(source.Tensors["G.adam_m"]), "Adam's moments still follow the gradients");
        Assert.That(decayed.Header.Config.LearningRateDecayTo, Is.EqualTo(1), "the new run's checkpoint carries its decay");
    }

    /// <summary>A branch stopped midway resumes in its own folder from its own checkpoint, not from its source again.</summary>
    [Test]
    public void AStoppedBranchResumesWhereItStopped()
    {
        Assert.That(Ilgpugan(Train("source", "--epochs", "1")).Code, Is.EqualTo(0));
        Assert.That(Ilgpugan(Train("whole", "--epochs", "3", "--from", Folder.File("source"))).Code, Is.EqualTo(0));
        Assert.That(Ilgpugan(Train("stopped", "--epochs", "3", "--from", Folder.File("source"), "--max-steps", "4")).Code, Is.EqualTo(0));

        var (code, output, error) = Ilgpugan("train", "--resume", Folder.File("stopped"));

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("resumed from").And.Contain("at step 10").And.Not.Contain("started from"));
        var (whole, stopped) = (Final(Folder.File("whole")), Final(Folder.File("stopped")));
        foreach (var (name, values) in whole.Tensors) Assert.That(stopped.Tensors[name], Is.EqualTo(values), name);
    }

    [Test]
    public void AnotherArchitectureIsRefusedByName()
    {
        Assert.That(Ilgpugan(Train("source", "--max-steps", "2")).Code, Is.EqualTo(0));
        var (code, _, error) = Ilgpugan(Train("other", "--from", Folder.File("source"), "--z-dim", "10"));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain("--from").And.Contain("z has 100 values, not 10"));
        Assert.That(Directory.Exists(Path.Combine(Folder.File("other"), "samples")), Is.False, "nothing was trained");
    }

    [Test]
    public void FromWithResumeIsRefused()
    {
        Assert.That(Ilgpugan(Train("source", "--max-steps", "2")).Code, Is.EqualTo(0));
        var (code, _, error) = Ilgpugan("train", "--resume", Folder.File("source"), "--from", Folder.File("source"));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain("--resume").And.Contain("--from").And.Contain("give one of them"));
    }

    [Test]
    public void ADecayEndingBeforeItStartsIsRefused()
    {
        var (code, _, error) = Ilgpugan(Train("run", "--lr-decay-from", "5", "--lr-decay-to", "3"));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain("--lr-decay-to").And.Contain("before"));
    }

    /// <summary>The factor on the learning rates: 1 up to the decay's first step, linear in the step, 0 from its last on.</summary>
    [Test]
    public void LearningRateFactorFallsLinearlyOverTheDecayEpochs()
    {
        var config = new GanConfig { LearningRateDecayFrom = 2, LearningRateDecayTo = 4 };
        const int stepsPerEpoch = 10;
        Assert.That(new[] { 0L, 19, 20, 25, 30, 39, 40, 1000 }.Select(step => config.LearningRateFactor(step, stepsPerEpoch)),
            Is.EqualTo(new[] { 1f, 1f, 1f, 0.75f, 0.5f, 0.05f, 0f, 0f }));
        Assert.That(new GanConfig().LearningRateFactor(12345, stepsPerEpoch), Is.EqualTo(1f), "no decay: the seed's constant rate");
    }
}
