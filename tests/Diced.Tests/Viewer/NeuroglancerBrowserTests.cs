using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;
using Microsoft.Playwright;
using SkiaSharp;

namespace Diced.Tests.Viewer;

/// <summary>
/// Real Neuroglancer (npm 2.41.2, bundled at build time and served by Diced at <c>/neuroglancer/</c>) in Debian's
/// headless Chromium with software WebGL, reading Diced through its <c>dvid://</c> source.
/// </summary>
public sealed class NeuroglancerBrowserFixture : IAsyncLifetime
{
    public LiveServer Server { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    private IPlaywright _playwright = null!;
    public string Repo { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Server = await LiveServer.StartAsync();
        var c = Server.Client;
        Repo = await c.CreateRepoAsync("ng-browser", "neuroglancer in chromium");
        await c.CreateInstanceAsync(Repo, "labelmap", "seg", new { MaxDownresLevel = "1" });
        // A ball of label 7 (radius 40) in a 128³ volume of label 1.
        var labels = new ulong[128 * 128 * 128];
        for (int z = 0; z < 128; z++) for (int y = 0; y < 128; y++) for (int x = 0; x < 128; x++)
        {
            int dx = x - 64, dy = y - 64, dz = z - 64;
            labels[(z * 128 + y) * 128 + x] = dx * dx + dy * dy + dz * dz < 40 * 40 ? 7UL : 1UL;
        }
        await (await c.PostAsync($"/api/node/{Repo}/seg/raw/0_1_2/128_128_128/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(labels.AsSpan()).ToArray()))).ExpectAsync(200);
        // Grey with a kept pyramid: 256³, bright (220) where x < 128, dark (40) elsewhere.
        await c.CreateInstanceAsync(Repo, "uint8blk", "em", new { MaxDownresLevel = "2" });
        var grey = new byte[256 * 256 * 256];
        for (int i = 0; i < grey.Length; i++) grey[i] = (byte)(i % 256 < 128 ? 220 : 40);
        await (await c.PostAsync($"/api/node/{Repo}/em/raw/0_1_2/256_256_256/0_0_0", new ByteArrayContent(grey))).ExpectAsync(200);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserFixture.Chromium, Headless = true,
            Args = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}

[Collection(BrowserCollection.Name)]
public class NeuroglancerBrowserTests(NeuroglancerBrowserFixture f)
{
    /// <summary>A state with the labelmap as a segmentation layer, the 3-D view alone, no slices, axes or bounds drawn.</summary>
    private string StateUrl(params string[] segments)
    {
        var state = new Dictionary<string, object>
        {
            ["layers"] = new object[] { new Dictionary<string, object>
            {
                ["type"] = "segmentation", ["name"] = "seg", ["segments"] = segments,
                ["source"] = $"dvid://http://127.0.0.1:{f.Server.Port}/{f.Repo}/seg",
            } },
            ["layout"] = "3d", ["showSlices"] = false, ["showAxisLines"] = false, ["showDefaultAnnotations"] = false,
        };
        return $"{f.Server.BaseAddress}neuroglancer/#!{Uri.EscapeDataString(JsonSerializer.Serialize(state))}";
    }

    /// <summary>Pixels of a screenshot (the middle half of it with <paramref name="middleOnly"/>) that are clearly
    /// coloured (a segment's colour, not the grey UI or black), and pure greys of the fixture's bright (220) and dark (40) image.</summary>
    private static (int Bright, int Dark, int Coloured) Classify(byte[] png, bool middleOnly = false)
    {
        using var bmp = SKBitmap.Decode(png);
        int bright = 0, dark = 0, coloured = 0;
        var (x0, x1, y0, y1) = middleOnly ? (bmp.Width / 4, bmp.Width * 3 / 4, bmp.Height / 4, bmp.Height * 3 / 4) : (0, bmp.Width, 0, bmp.Height);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
            {
                var p = bmp.GetPixel(x, y);
                int spread = Math.Max(p.Red, Math.Max(p.Green, p.Blue)) - Math.Min(p.Red, Math.Min(p.Green, p.Blue));
                if (spread > 40) coloured++;
                else if (spread == 0 && p.Red is > 200 and < 240) bright++;
                else if (spread == 0 && p.Red is > 25 and < 55) dark++;
            }
        return (bright, dark, coloured);
    }

    private static int ColouredPixels(byte[] png) => Classify(png, middleOnly: true).Coloured;

    /// <summary>Screenshots once a second until <paramref name="done"/> holds or 40 s pass; the last one.</summary>
    private static async Task<byte[]> ScreenshotUntilAsync(IPage page, Func<byte[], bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            await page.WaitForTimeoutAsync(1000);
            var png = await page.ScreenshotAsync();
            if (done(png) || DateTime.UtcNow > deadline) return png;
        }
    }

    private async Task<(byte[] Png, List<string> Failed, List<string> MeshRequests)> RenderAsync(params string[] segments)
    {
        if (!File.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot", "neuroglancer", "main.bundle.js")))
            Assert.Fail("Neuroglancer was not built into wwwroot/neuroglancer (the server build needs node and npm; see README)");
        var context = await f.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 800, Height = 600 } });
        var failed = new List<string>();
        var meshes = new List<string>();
        context.Response += (_, r) =>
        {
            if (r.Status >= 400) lock (failed) failed.Add($"{r.Status} {r.Url}");
            if (r.Url.Contains(".ngmesh")) lock (meshes) meshes.Add($"{r.Status} {r.Url}");
        };
        var page = await context.NewPageAsync();
        await page.GotoAsync(StateUrl(segments));
        await page.WaitForFunctionAsync("() => window.viewer !== undefined", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        var started = DateTime.UtcNow;
        var png = await ScreenshotUntilAsync(page, png => segments.Length == 0 ? DateTime.UtcNow > started + TimeSpan.FromSeconds(5) : ColouredPixels(png) > 2000);
        await context.CloseAsync();
        return (png, failed, meshes);
    }

    [Fact]
    public async Task A_zoomed_out_image_view_is_drawn_from_the_kept_levels_without_loading_full_resolution()
    {
        var state = new Dictionary<string, object>
        {
            ["layers"] = new object[] { new Dictionary<string, object> { ["type"] = "image", ["name"] = "em", ["source"] = $"dvid://http://127.0.0.1:{f.Server.Port}/{f.Repo}/em" } },
            ["layout"] = "xy", ["position"] = new[] { 128, 128, 128 }, ["crossSectionScale"] = 4, ["showAxisLines"] = false, ["showDefaultAnnotations"] = false,
        };
        var context = await f.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 800, Height = 600 } });
        var requests = new List<string>();
        context.Response += (_, r) => { if (r.Url.Contains("/api/node/")) lock (requests) requests.Add($"{r.Status} {new Uri(r.Url).AbsolutePath}"); };
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{f.Server.BaseAddress}neuroglancer/#!{Uri.EscapeDataString(JsonSerializer.Serialize(state))}");
        await page.WaitForFunctionAsync("() => window.viewer !== undefined", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        var seen = Classify(await ScreenshotUntilAsync(page, png => Classify(png) is { Bright: > 1000, Dark: > 1000 }));
        await context.CloseAsync();
        List<string> made;
        lock (requests) made = [.. requests];
        Assert.True(seen.Bright > 1000 && seen.Dark > 1000, $"the zoomed-out slice shows {seen.Bright} bright and {seen.Dark} dark pixels; requests:\n{string.Join("\n", made)}");
        Assert.Contains(made, r => r.StartsWith("200 ") && r.Contains("/em_2/raw/0_1_2/"));
        Assert.DoesNotContain(made, r => r.Contains("/em/raw/"));
        Assert.DoesNotContain(made, r => !r.StartsWith("200 "));
    }

    [Fact]
    public async Task A_bodys_generated_mesh_appears_in_the_3d_view()
    {
        var (withMesh, failed, meshes) = await RenderAsync("7");
        Assert.Empty(failed);
        Assert.Contains(meshes, m => m.StartsWith("200 ") && m.Contains("/seg_meshes/key/7.ngmesh"));
        int coloured = ColouredPixels(withMesh);
        var (without, _, noMeshes) = await RenderAsync();
        Assert.Empty(noMeshes);
        Assert.True(coloured > 2000, $"the 3-D view shows {coloured} coloured pixels with body 7 selected");
        Assert.True(ColouredPixels(without) < 200, $"without a selected body the 3-D view shows {ColouredPixels(without)} coloured pixels");
    }

    /// <summary>Issue 20: "Open in Neuroglancer" from Diced's own viewer: grey and segmentation drawn at the version pinned.</summary>
    [Fact]
    public async Task The_viewers_link_opens_neuroglancer_with_grey_under_segmentation_at_the_version()
    {
        var context = await f.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1000, Height = 800 } });
        var failed = new List<string>();
        context.Response += (_, r) => { if (r.Status >= 400) lock (failed) failed.Add($"{r.Status} {r.Url}"); };
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{f.Server.BaseAddress}#repo={f.Repo}&version={f.Repo}&instance=seg");
        await page.WaitForSelectorAsync("#instance-neuroglancer:not([hidden])");
        var href = (await page.GetAttributeAsync("#instance-neuroglancer", "href"))!;
        var state = JsonDocument.Parse(Uri.UnescapeDataString(href[(href.IndexOf("#!") + 2)..])).RootElement;
        var layers = state.GetProperty("layers").EnumerateArray().Select(l => (l.GetProperty("type").GetString(), l.GetProperty("source").GetString())).ToList();
        Assert.Equal([("image", $"dvid://{f.Server.BaseAddress.GetLeftPart(UriPartial.Authority)}/{f.Repo}/em"), ("segmentation", $"dvid://{f.Server.BaseAddress.GetLeftPart(UriPartial.Authority)}/{f.Repo}/seg")], layers);
        Assert.Equal([64.0, 64, 64], state.GetProperty("position").EnumerateArray().Select(p => p.GetDouble()).ToArray()); // centred on seg's extents
        // The version link shows them both too.
        Assert.Contains("em", Uri.UnescapeDataString((await page.GetAttributeAsync("#node-neuroglancer", "href"))!));

        await page.GotoAsync(new Uri(f.Server.BaseAddress, href).ToString());
        await page.WaitForFunctionAsync("() => window.viewer !== undefined", null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        var seen = Classify(await ScreenshotUntilAsync(page, png => Classify(png) is { Bright: > 1000, Dark: > 1000, Coloured: > 5000 }));
        await context.CloseAsync();
        Assert.True(seen.Bright > 1000 && seen.Dark > 1000 && seen.Coloured > 5000,
            $"Neuroglancer drew {seen.Bright} bright and {seen.Dark} dark grey pixels and {seen.Coloured} segmentation-coloured ones; failed requests: {string.Join(", ", failed)}");
        Assert.Empty(failed);
    }
}
