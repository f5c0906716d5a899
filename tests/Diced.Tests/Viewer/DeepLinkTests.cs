using Microsoft.Playwright;
using static Diced.Tests.Viewer.ViewerPage;

namespace Diced.Tests.Viewer;

/// <summary>Issue 20: the URL holds repo, version, instance, plane, position and zoom; opening it shows the same view.</summary>
[Collection(BrowserCollection.Name)]
public class DeepLinkTests(BrowserFixture f)
{
    private static Task<string> Hash(IPage page) => page.EvaluateAsync<string>("() => location.hash");

    [Fact]
    public async Task The_url_follows_the_view_and_opening_it_elsewhere_shows_the_same_view()
    {
        var page = await OpenAsync(f);
        await OpenInstanceAsync(page, f.Repo, f.Repo, "grey");
        await WaitForSliceAsync(page, "grey", f.Repo, "XY slice 32");
        await page.SelectOptionAsync("#plane", "xz");
        await page.Locator("#slice").FillAsync("20");
        await page.ClickAsync("#zoom-in");
        await page.SelectOptionAsync("#layer-choice", "seg");
        await page.Locator("#opacity").FillAsync("0.25");
        await WaitForSliceAsync(page, "grey + seg", f.Repo, "XZ slice 20");
        await page.WaitForFunctionAsync("() => location.hash.includes('opacity=0.25')"); // written once the view settles
        var hash = await Hash(page);
        foreach (var part in new[] { $"repo={f.Repo}", $"version={f.Repo}", "instance=grey", "plane=xz", "labels=seg", "opacity=0.25" })
            Assert.Contains(part, hash);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(hash, @"pos=31\.5,20,32(&|$)"), hash); // x: the fitted centre, between voxels 31 and 32; z: the XY slice it came from
        double zoom = await ZoomAsync(page);
        var pixel = await PixelAtAsync(page, 40, 20, 30);

        // A fresh page at that URL (a shared link, or a reload) shows the same view, pixel for pixel.
        var other = await OpenAsync(f, hash);
        await WaitForSliceAsync(other, "grey + seg", f.Repo, "XZ slice 20");
        Assert.Equal(zoom, await ZoomAsync(other), 3);
        Assert.Equal("0.25", await other.InputValueAsync("#opacity"));
        Assert.Equal("seg", await other.InputValueAsync("#layer-choice"));
        Assert.Equal(pixel, await PixelAtAsync(other, 40, 20, 30));
        Assert.Equal(hash, await Hash(other));
        await other.ReloadAsync();
        await WaitForSliceAsync(other, "grey + seg", f.Repo, "XZ slice 20");
        Assert.Equal(pixel, await PixelAtAsync(other, 40, 20, 30));
    }

    [Fact]
    public async Task A_link_to_a_version_selects_it_and_a_link_to_a_label_instance_keeps_the_image_under_it()
    {
        var page = await OpenAsync(f, $"#repo={f.Repo}&version={f.Child}");
        await page.WaitForFunctionAsync($"() => document.querySelector('#node-uuid').textContent === '{f.Child}'");
        Assert.Contains("selected", await page.Locator($"#dag .dag-node[data-uuid='{f.Child}']").GetAttributeAsync("class"));
        Assert.True(await page.IsHiddenAsync("#instance-panel"));

        page = await OpenAsync(f, $"#repo={f.Repo}&version={f.Repo}&instance=seg&plane=yz&pos=10,20,30&zoom=4&image=grey&opacity=1");
        await WaitForSliceAsync(page, "grey + seg", f.Repo, "YZ slice 10");
        Assert.Equal(4, await ZoomAsync(page), 3);
        var pos = await page.EvaluateAsync<double[]>("() => window.diced.viewer.pos");
        Assert.Equal(new[] { 10.0, 20, 30 }, pos);
        Assert.Equal("grey", await page.InputValueAsync("#layer-choice"));
        // Nonsense in the URL is ignored rather than breaking the page.
        var errors = new List<string>();
        page = await OpenAsync(f, $"#repo={f.Repo}&version=nosuch&instance=nosuch&plane=qq&pos=a,b&zoom=-3", errors);
        await page.WaitForFunctionAsync("() => document.querySelector('#node-uuid').textContent.length === 32");
        Assert.Empty(errors);
    }
}
