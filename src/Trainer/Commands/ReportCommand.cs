using IlgpuGan.Model;


namespace IlgpuGan.Trainer;

/// <summary>`report`: (re)writes a run folder's report.html, which `train` also rewrites at every epoch's end.</summary>
public static class ReportCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("report", "writes a run folder's report.html: config, speed, curves, quality figures and sample grids on one page",
            args => args.Path("run", Recipes.RunFolder(Recipes.Default), "run folder"),
            run => output.WriteLine($"wrote {RunReport.Write(run)}; open it in a browser, no server needed"));
}
