using System.Globalization;
using static Diced.Tests.Viewer.ViewerPage;

namespace Diced.Tests.Viewer;

/// <summary>Issue 20: the DAG with merges, branch heads and archived versions; extents drawn as boxes; the mutation log as a timeline.</summary>
[Collection(BrowserCollection.Name)]
public class VersionPicturesTests(BrowserFixture f)
{
    [Fact]
    public async Task The_dag_marks_merges_branch_heads_and_archived_versions()
    {
        var page = await OpenAsync(f);
        await page.ClickAsync($"tr.repo-row[data-uuid='{f.DagRepo}']");
        await page.WaitForSelectorAsync($"#dag .dag-node[data-uuid='{f.Merged}']");
        var merged = page.Locator($"#dag .dag-node[data-uuid='{f.Merged}']");
        Assert.Contains("merge", await merged.GetAttributeAsync("class"));
        Assert.Contains($"merge of {f.DagLeft[..8]} + {f.DagRight[..8]}", await merged.TextContentAsync());
        Assert.Equal(2, await page.Locator($"#dag .merge-edge[data-to='{f.Merged}']").CountAsync());
        Assert.Contains("(head)", await merged.TextContentAsync()); // it continues the first parent's branch, "left"
        Assert.Contains("left", await merged.TextContentAsync());
        Assert.DoesNotContain("head", await page.Locator($"#dag .dag-node[data-uuid='{f.DagLeft}']").GetAttributeAsync("class"));
        var right = page.Locator($"#dag .dag-node[data-uuid='{f.DagRight}']");
        Assert.Contains("archived", await right.GetAttributeAsync("class"));
        Assert.Contains("archived", await right.TextContentAsync());
        await right.ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('#node-state').textContent === 'archived'");
    }

    [Fact]
    public async Task Extents_are_boxes_in_one_frame_and_the_mutation_log_is_a_timeline()
    {
        var page = await OpenAsync(f);
        await page.ClickAsync($"tr.repo-row[data-uuid='{f.Repo}']");
        await page.ClickAsync($"#dag .dag-node[data-uuid='{f.Repo}']");
        await page.WaitForSelectorAsync($"#extents-picture[data-version='{f.Repo}'] rect.extent[data-name='seg'][data-view='xy']");
        // Every spatial instance of the version, 64³ at the origin each: equal boxes, the frame's full width.
        var names = await page.Locator("#extents-picture rect.extent[data-view='xy']").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.name)");
        Assert.Equal(["grey", "grey16", "seg"], names);
        var frame = await page.Locator("#extents-picture rect.extents-frame").First.GetAttributeAsync("width");
        foreach (var n in names)
            Assert.Equal(frame, await page.Locator($"#extents-picture rect.extent[data-name='{n}'][data-view='xy']").GetAttributeAsync("width"));

        // The keyvalue's two puts, one row per action, in time order.
        await OpenInstanceAsync(page, f.Repo, f.Repo, "kv");
        await page.WaitForSelectorAsync("#timeline-picture circle.mutation");
        var xs = await page.Locator("#timeline-picture circle.mutation").EvaluateAllAsync<string[]>("els => els.map(e => e.getAttribute('cx'))");
        Assert.Equal(2, xs.Length);
        Assert.True(double.Parse(xs[0], CultureInfo.InvariantCulture) <= double.Parse(xs[1], CultureInfo.InvariantCulture));
        Assert.Equal("2 mutations", await page.TextContentAsync("#timeline-summary"));
    }

    [Fact]
    public async Task The_neuroglancer_link_of_a_version_leaves_out_what_neuroglancer_cannot_read_and_says_why()
    {
        var page = await OpenAsync(f, $"#repo={f.Repo}&version={f.Repo}");
        await page.WaitForSelectorAsync("#node-neuroglancer:not([hidden])");
        var href = Uri.UnescapeDataString((await page.GetAttributeAsync("#node-neuroglancer", "href"))!);
        Assert.StartsWith("/neuroglancer/#!", href);
        Assert.Contains($"/{f.Repo}/grey\"", href);
        Assert.DoesNotContain("/seg\"", href);
        var note = await page.TextContentAsync("#node-neuroglancer-note");
        Assert.Contains("seg: labelmap needs MaxDownresLevel ≥ 1", note);
        Assert.Contains("grey16: Neuroglancer's DVID source does not read uint16blk", note);
    }

    [Fact]
    public async Task Storage_per_instance_and_per_version_is_drawn_as_bars_from_the_servers_counts()
    {
        var page = await OpenAsync(f, $"#repo={f.Repo}&version={f.Child}");
        await page.WaitForFunctionAsync($"() => document.querySelector('#node-uuid').textContent === '{f.Child}'");
        await page.ClickAsync("#measure-storage");
        await page.WaitForSelectorAsync("#storage-instances .bar-row");
        using var doc = await Infrastructure.DvidClient.GetJsonAsync(f.Server.Client, $"/api/repo/{f.Repo}/storage");
        var instances = doc.RootElement.GetProperty("Instances").EnumerateArray().ToDictionary(i => i.GetProperty("Name").GetString()!, i => i.GetProperty("Bytes").GetInt64());
        var drawn = await page.Locator("#storage-instances .bar-row").EvaluateAllAsync<string[][]>("els => els.map(e => [e.dataset.label, e.dataset.bytes, e.querySelector('.bar').style.width])");
        Assert.Equal(instances.OrderByDescending(i => i.Value).Select(i => i.Key), drawn.Select(d => d[0]));
        Assert.All(drawn, d => Assert.Equal(instances[d[0]].ToString(CultureInfo.InvariantCulture), d[1]));
        Assert.Equal("300px", drawn[0][2]); // the largest is the full width; the others in proportion
        var perVersion = doc.RootElement.GetProperty("Instances").EnumerateArray().SelectMany(i => i.GetProperty("Versions").EnumerateArray())
            .GroupBy(v => v.GetProperty("UUID").GetString()!).ToDictionary(g => g.Key, g => g.Sum(v => v.GetProperty("Bytes").GetInt64()));
        var versions = await page.Locator("#storage-versions .bar-row").EvaluateAllAsync<string[][]>("els => els.map(e => [e.dataset.label, e.dataset.bytes])");
        Assert.Equal(perVersion.Count, versions.Length);
        Assert.All(versions, v => Assert.Equal(perVersion[v[0]].ToString(CultureInfo.InvariantCulture), v[1]));
        Assert.Contains(versions, v => v[0] == f.Child);
    }
}
