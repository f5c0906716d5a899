using System.Runtime.InteropServices;
using System.Text.Json;
using Diced.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Diced.Tests.Viewer;

/// <summary>A server with known data and Debian's Chromium driven by Playwright (never its own browser download).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    public LiveServer Server { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    private IPlaywright _playwright = null!;

    public string Repo { get; private set; } = "";
    public string Child { get; private set; } = "";
    public byte[] Grey { get; } = new byte[64 * 64 * 64];
    public ushort[] Grey16 { get; } = new ushort[64 * 64 * 64];
    public ulong[] Labels { get; } = new ulong[64 * 64 * 64];
    /// <summary>A label beyond 2^53, where JavaScript numbers are no longer exact.</summary>
    public const ulong BigLabel = (1UL << 60) + 3;
    public string DagRepo { get; private set; } = "";
    public string DagLeft { get; private set; } = "";
    public string DagRight { get; private set; } = "";
    public string Merged { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium)) await InstallChromiumAsync();
        Server = await LiveServer.StartAsync();
        var c = Server.Client;
        Repo = await c.CreateRepoAsync("viewer-repo", "for the browser tests");
        await c.CreateInstanceAsync(Repo, "uint8blk", "grey");
        await c.CreateInstanceAsync(Repo, "uint16blk", "grey16");
        await c.CreateInstanceAsync(Repo, "labelmap", "seg");
        await c.CreateInstanceAsync(Repo, "keyvalue", "kv");
        for (int z = 0; z < 64; z++) for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++)
        {
            int i = (z * 64 + y) * 64 + x;
            Grey[i] = (byte)(x * 4 + z);
            Grey16[i] = (ushort)(1000 + 10 * y);
            Labels[i] = x < 32 ? 7UL : BigLabel;
        }
        await (await c.PostAsync($"/api/node/{Repo}/grey/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Grey))).ExpectAsync(200);
        await (await c.PostAsync($"/api/node/{Repo}/grey16/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(Grey16.AsSpan()).ToArray()))).ExpectAsync(200);
        await (await c.PostAsync($"/api/node/{Repo}/seg/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(MemoryMarshal.AsBytes(Labels.AsSpan()).ToArray()))).ExpectAsync(200);
        await c.PutKeyAsync(Repo, "kv", "config.json", "{\"a\":1,\"b\":[2,3]}"u8.ToArray());
        await c.PutKeyAsync(Repo, "kv", "blob", [0, 1, 2, 255]);
        await c.CommitAsync(Repo, "first version");
        Child = await c.BranchAsync(Repo, "proofreading", "edits");
        await (await c.PostAsync($"/api/node/{Child}/grey/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(new byte[64 * 64 * 64]))).ExpectAsync(200);
        await c.CreateInstanceAsync(Child, "keyvalue", "child-only");
        await c.CreateRepoAsync("other-repo", "something else");
        // An image 30,000 voxels wide with no pyramid: fitted, it needs more tiles than one view asks for.
        await c.CreateInstanceAsync(Child, "uint8blk", "wide", new { BlockSize = "32,32,32" });
        foreach (var x in new[] { 0, 30000 })
            await (await c.PostAsync($"/api/node/{Child}/wide/raw/0_1_2/32_32_32/{x}_0_0", new ByteArrayContent(Enumerable.Repeat((byte)200, 32 * 32 * 32).ToArray()))).ExpectAsync(200);
        // A grey instance keeping one pyramid level, for coarse-first tiles.
        await c.CreateInstanceAsync(Child, "uint8blk", "pyr", new { MaxDownresLevel = "1" });
        await (await c.PostAsync($"/api/node/{Child}/pyr/raw/0_1_2/64_64_64/0_0_0", new ByteArrayContent(Grey))).ExpectAsync(200);
        // A repo whose DAG has a merge and an archived branch.
        DagRepo = await c.CreateRepoAsync("dag-repo", "merges and branches");
        await c.CommitAsync(DagRepo, "root");
        var left = await c.BranchAsync(DagRepo, "left", "left side");
        var right = await c.BranchAsync(DagRepo, "right", "right side");
        await c.CommitAsync(left);
        await c.CommitAsync(right);
        Merged = await (await c.PostAsync($"/api/repo/{DagRepo}/merge", DvidClient.Json(new { mergeType = "conflict-free", parents = new[] { left, right }, note = "both sides" }))).ChildAsync();
        (DagLeft, DagRight) = (left, right);
        await (await c.PostAsync($"/api/repo/{DagRepo}/archive/right", null)).ExpectAsync(200);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>Installs Debian's chromium, as the S3 tests install radosgw (root and apt needed; .ci/run does it first).</summary>
    private static async Task InstallChromiumAsync()
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0 || !File.Exists(Chromium))
            throw new InvalidOperationException($"the viewer tests need Debian's Chromium at {Chromium}; installing it failed: {await err}");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}

/// <summary>The browser tests share one server and one Chromium and run one at a time (each is heavy on two cores).</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>, ICollectionFixture<NeuroglancerBrowserFixture>
{
    public const string Name = "browser";
}

[Collection(BrowserCollection.Name)]
public class ViewerTests(BrowserFixture f)
{
    private Task<IPage> OpenAsync() => ViewerPage.OpenAsync(f);

    private Task OpenInstance(IPage page, string node, string name) => ViewerPage.OpenInstanceAsync(page, f.Repo, node, name);

    [Fact]
    public async Task Repos_are_listed_with_their_fields_and_the_search_box_filters_them()
    {
        var page = await OpenAsync();
        var row = page.Locator($"tr.repo-row[data-uuid='{f.Repo}']");
        Assert.Equal("viewer-repo", await row.Locator(".repo-name").TextContentAsync());
        Assert.Equal("for the browser tests", await row.Locator(".repo-description").TextContentAsync());
        Assert.Contains(f.Repo[..8], await row.TextContentAsync());
        Assert.Equal(3, await page.Locator("tr.repo-row").CountAsync());
        await page.FillAsync("#search", "something else");
        Assert.Equal(1, await page.Locator("tr.repo-row").CountAsync());
        Assert.Equal(0, await page.Locator($"tr.repo-row[data-uuid='{f.Repo}']").CountAsync());
        await page.FillAsync("#search", f.Repo[..10]);
        Assert.Equal(1, await page.Locator($"tr.repo-row[data-uuid='{f.Repo}']").CountAsync());
    }

    [Fact]
    public async Task The_dag_shows_versions_and_a_node_shows_its_log_and_instances()
    {
        var page = await OpenAsync();
        await page.ClickAsync($"tr.repo-row[data-uuid='{f.Repo}']");
        await page.WaitForSelectorAsync($"#dag .dag-node[data-uuid='{f.Child}']");
        Assert.Equal(2, await page.Locator("#dag .dag-node").CountAsync());
        Assert.Contains("locked", await page.Locator($"#dag .dag-node[data-uuid='{f.Repo}']").GetAttributeAsync("class"));
        Assert.Contains("open", await page.Locator($"#dag .dag-node[data-uuid='{f.Child}']").GetAttributeAsync("class"));
        Assert.Contains("proofreading", await page.Locator($"#dag .dag-node[data-uuid='{f.Child}']").TextContentAsync());
        Assert.Equal(1, await page.Locator($"#dag .dag-edge[data-from='{f.Repo}'][data-to='{f.Child}']").CountAsync());

        await page.ClickAsync($"#dag .dag-node[data-uuid='{f.Repo}']");
        await page.WaitForFunctionAsync($"() => document.querySelector('#node-uuid').textContent === '{f.Repo}'");
        Assert.Equal("locked", await page.TextContentAsync("#node-state"));
        Assert.Equal("first version", await page.TextContentAsync("#node-note"));
        var names = await page.Locator("#instance-list li.instance").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.name)");
        Assert.Equal(["grey", "grey16", "kv", "seg"], names);
        // The child sees the instance created there too.
        await page.ClickAsync($"#dag .dag-node[data-uuid='{f.Child}']");
        await page.WaitForSelectorAsync("#instance-list li.instance[data-name='child-only']");
        Assert.Contains("child-only", await page.Locator("#node-log").TextContentAsync() + string.Join(",", await page.Locator("#instance-list li").AllTextContentsAsync()));
        // An image's kept pyramid level is read through the image, not listed as an instance of its own.
        Assert.Equal(1, await page.Locator("#instance-list li.instance[data-name='pyr']").CountAsync());
        Assert.Equal(0, await page.Locator("#instance-list li.instance[data-name='pyr_1']").CountAsync());
    }

    [Fact]
    public async Task Keyvalue_browser_shows_json_and_binary_keys()
    {
        var page = await OpenAsync();
        await OpenInstance(page, f.Repo, "kv");
        await page.WaitForSelectorAsync("#keys li.key[data-key='config.json']");
        Assert.Equal("keyvalue", await page.TextContentAsync("#instance-info dd[data-field='Type']"));
        await page.ClickAsync("#keys li.key[data-key='config.json']");
        await page.WaitForFunctionAsync("() => document.querySelector('#key-value').textContent.includes('\"b\"')");
        Assert.Contains("\"a\": 1", await page.TextContentAsync("#key-value"));
        await page.ClickAsync("#keys li.key[data-key='blob']");
        await page.WaitForFunctionAsync("() => document.querySelector('#key-value').textContent.includes('binary')");
        Assert.Contains("00 01 02 ff", await page.TextContentAsync("#key-value"));
        Assert.EndsWith("/kv/key/blob", await page.GetAttributeAsync("#key-download", "href"));
    }

    [Fact]
    public async Task An_instance_shows_what_changed_since_its_parent_and_since_any_version_chosen()
    {
        var page = await OpenAsync();
        await OpenInstance(page, f.Child, "grey");
        await page.WaitForFunctionAsync("() => document.querySelector('#diff-summary').textContent.includes('modified')");
        Assert.Equal(f.Repo, await page.InputValueAsync("#diff-with"));
        Assert.Equal(["block 0,0,0 modified"], await page.Locator("#diff-list li").AllTextContentsAsync());
        // At the root, which has no parent, the other version is the child: the change runs the other way.
        page = await OpenAsync();
        await OpenInstance(page, f.Repo, "grey");
        await page.WaitForFunctionAsync("() => document.querySelector('#diff-summary').textContent.includes('modified')");
        Assert.Equal(f.Child, await page.InputValueAsync("#diff-with"));
        page = await OpenAsync();
        await OpenInstance(page, f.Repo, "kv");
        await page.WaitForFunctionAsync("() => document.querySelector('#diff-summary').textContent === 'no changes'");
        Assert.Equal(0, await page.Locator("#diff-list li").CountAsync());
    }
}
