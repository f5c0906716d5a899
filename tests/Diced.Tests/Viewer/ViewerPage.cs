using System.Text.Json;
using Microsoft.Playwright;

namespace Diced.Tests.Viewer;

/// <summary>Driving Diced's viewer page in the browser tests: opening it, choosing an instance, reading drawn pixels.</summary>
public static class ViewerPage
{
    /// <summary>A page on the viewer (at <paramref name="hash"/>, if given) that failed on no script error.</summary>
    public static async Task<IPage> OpenAsync(BrowserFixture f, string hash = "", List<string>? errors = null)
    {
        var page = await f.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        errors ??= [];
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(f.Server.BaseAddress + hash);
        await page.WaitForSelectorAsync($"tr.repo-row[data-uuid='{f.Repo}']");
        Assert.Empty(errors);
        return page;
    }

    public static async Task OpenInstanceAsync(IPage page, string repo, string node, string name)
    {
        await page.ClickAsync($"tr.repo-row[data-uuid='{repo}']");
        await page.ClickAsync($"#dag .dag-node[data-uuid='{node}']");
        await page.WaitForFunctionAsync($"() => document.querySelector('#node-uuid').textContent === '{node}' && document.querySelector('#instance-list li.instance[data-name=\"{name}\"]')");
        await page.ClickAsync($"#instance-list li.instance[data-name='{name}']");
    }

    /// <summary>Waits until every tile of the slice named (layers@version PLANE slice N) is drawn at the level that fits.</summary>
    public static Task WaitForSliceAsync(IPage page, string names, string node, string planeAndSlice)
        => page.WaitForFunctionAsync($"() => document.querySelector('#slice-status').textContent.startsWith('{names}@{node[..8]} {planeAndSlice}: drawn')",
            null, new PageWaitForFunctionOptions { Timeout = 20_000 });

    /// <summary>The RGBA canvas pixel drawn at the centre of voxel (x, y, z).</summary>
    public static async Task<int[]> PixelAtAsync(IPage page, int x, int y, int z)
        => (await page.EvaluateAsync<JsonElement>($$"""
            () => { const [sx, sy] = window.diced.viewer.screenOf([{{x}}, {{y}}, {{z}}]);
                    return Array.from(document.querySelector('#slice-canvas').getContext('2d').getImageData(Math.floor(sx), Math.floor(sy), 1, 1).data); }
            """)).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    /// <summary>Moves the mouse over the centre of voxel (x, y, z).</summary>
    public static async Task HoverAsync(IPage page, int x, int y, int z)
    {
        var at = await page.EvaluateAsync<double[]>($"() => window.diced.viewer.screenOf([{x}, {y}, {z}])");
        var box = (await page.Locator("#canvas-wrap").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync((float)(box.X + at[0]), (float)(box.Y + at[1]));
    }

    public static Task<double> ZoomAsync(IPage page) => page.EvaluateAsync<double>("() => window.diced.viewer.zoom");
}
