using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Diced.Server.Auth;
using Diced.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Diced.Tests.Http;

/// <summary>A server with authentication on: an auth file of a reader, a writer and an admin, and DVID's admin token.</summary>
public sealed class AuthServerFixture : IAsyncLifetime
{
    public const string Secret = "a-test-secret-of-more-than-32-bytes-for-hs512-0123456789abcdef0123456789";
    public const string AdminToken = "adm-token";
    public LiveServer Server { get; private set; } = null!;
    public string AuthFile { get; } = Path.Combine(Path.GetTempPath(), $"diced-auth-{Guid.NewGuid():N}.json");

    public const string Policy = """
        {
          // roles per repo: "*" is every repo
          "users": {"reader@lab.org": {"*": "read"}, "writer@lab.org": {"*": "write"}},
          "groups": {"curators": {"members": ["carol@lab.org"], "repos": {"shared": "admin"}}},
          "admins": ["boss@lab.org"]
        }
        """;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(AuthFile, Policy);
        Server = await LiveServer.StartAsync(null, "--Diced:Auth:Enabled", "true", "--Diced:Auth:File", AuthFile,
            "--Diced:Auth:JwtSecret", Secret, "--Diced:AdminToken", AdminToken);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        File.Delete(AuthFile);
    }

    public static string Token(string? user, string algorithm = SecurityAlgorithms.HmacSha256, DateTime? expires = null, string secret = Secret)
    {
        var claims = new Dictionary<string, object>();
        if (user is not null) claims["user"] = user;
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims, SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), algorithm),
        };
        if (expires is { } e) { descriptor.Expires = e; descriptor.NotBefore = e.AddHours(-2); descriptor.IssuedAt = e.AddHours(-2); }
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = expires is not null }.CreateToken(descriptor);
    }

    public HttpClient As(string? user)
    {
        var c = new HttpClient { BaseAddress = Server.BaseAddress };
        if (user is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(user));
        return c;
    }
}

public class AuthTests(AuthServerFixture f) : IClassFixture<AuthServerFixture>
{
    private static string B64(string s) => Base64UrlEncoder.Encode(s);

    private async Task<HttpResponseMessage> GetWith(string token, string url = "/api/server/whoami")
    {
        using var c = new HttpClient { BaseAddress = f.Server.BaseAddress };
        return await c.SendAsync(new HttpRequestMessage(HttpMethod.Get, url) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } });
    }

    [Fact]
    public async Task DVID_style_tokens_are_accepted_and_bad_ones_get_a_clear_401()
    {
        foreach (var alg in new[] { SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512 })
        {
            var r = await (await GetWith(AuthServerFixture.Token("writer@lab.org", alg))).ExpectAsync(200);
            Assert.Equal("writer@lab.org", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("User").GetString());
        }
        await (await GetWith(AuthServerFixture.Token("writer@lab.org", expires: DateTime.UtcNow.AddHours(-1)))).ExpectErrorAsync(401, "expired");
        await (await GetWith(AuthServerFixture.Token("writer@lab.org", secret: AuthServerFixture.Secret.Replace('a', 'b')))).ExpectErrorAsync(401, "signature");
        var none = $"{B64("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{B64("{\"user\":\"boss@lab.org\"}")}.";
        await (await GetWith(none)).ExpectErrorAsync(401, "invalid token");
        await (await GetWith("not.a.jwt")).ExpectErrorAsync(401, "invalid token");
        await (await GetWith("garbage")).ExpectErrorAsync(401, "invalid token");
        // A token without a user is nobody: it reads what anonymous callers read.
        var anonymous = await (await GetWith(AuthServerFixture.Token(null))).ExpectAsync(200);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync()).RootElement.GetProperty("User").ValueKind);
    }

    [Fact]
    public async Task Roles_decide_reads_writes_and_deletions_and_changes_name_their_user()
    {
        using var admin = f.As("boss@lab.org");
        using var writer = f.As("writer@lab.org");
        using var reader = f.As("reader@lab.org");
        using var anonymous = f.As(null);
        var uuid = await admin.CreateRepoAsync("roles");
        await admin.CreateInstanceAsync(uuid, "keyvalue", "kv");
        await (await anonymous.GetAsync($"/api/node/{uuid}/kv/keys")).ExpectErrorAsync(401, "needs the read role");
        await (await reader.GetAsync($"/api/node/{uuid}/kv/keys")).ExpectAsync(200);
        await (await reader.PostAsync($"/api/node/{uuid}/kv/key/a", DvidClient.Text("x"))).ExpectErrorAsync(403, "reader@lab.org lacks the write role");
        await (await writer.PostAsync($"/api/node/{uuid}/kv/key/a?u=someone-else", DvidClient.Text("x"))).ExpectAsync(200);
        await (await writer.DeleteAsync($"/api/repo/{uuid}/kv?imsure=true")).ExpectErrorAsync(403, "admin role");
        await (await writer.PostAsync("/api/repos", DvidClient.Text("{}"))).ExpectErrorAsync(403, "server admin");
        // The log names the signed-in user, whatever ?u= says.
        using var log = JsonDocument.Parse(await reader.GetStringAsync($"/api/node/{uuid}/kv/mutations"));
        Assert.Equal("writer@lab.org", log.RootElement[0].GetProperty("User").GetString());
        // Repo listings show only what the caller may read.
        Assert.DoesNotContain(uuid, await anonymous.GetStringAsync("/api/repos/info"));
        Assert.Contains(uuid, await reader.GetStringAsync("/api/repos/info"));
        // Admins (not writers) may change a locked node, as DVID's admin token may.
        await admin.CommitAsync(uuid);
        await (await writer.PostAsync($"/api/node/{uuid}/kv/key/b", DvidClient.Text("y"))).ExpectErrorAsync(400, "locked");
        await (await admin.PostAsync($"/api/node/{uuid}/kv/key/b", DvidClient.Text("y"))).ExpectAsync(200);
        // DVID's admin token is a server admin; so is an admin user.
        await (await anonymous.DeleteAsync($"/api/repo/{uuid}/kv?imsure=true&admintoken={AuthServerFixture.AdminToken}")).ExpectAsync(200);
        await (await admin.DeleteAsync($"/api/repo/{uuid}?imsure=true")).ExpectAsync(200);
    }

    [Fact]
    public async Task Tokens_are_minted_for_signed_in_callers_and_by_admins_for_anyone()
    {
        using var reader = f.As("reader@lab.org");
        var fresh = await reader.GetStringAsync("/api/server/token");
        var r = await (await GetWith(fresh)).ExpectAsync(200);
        Assert.Contains("reader@lab.org", await r.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await f.As(null).GetAsync("/api/server/token")).StatusCode);
        var minted = await f.As(null).GetStringAsync($"/api/server/token?user=new@lab.org&admintoken={AuthServerFixture.AdminToken}");
        Assert.Contains("new@lab.org", await (await GetWith(minted)).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_auth_file_reloads_without_a_restart_and_a_bad_one_changes_nothing()
    {
        using var admin = f.As("boss@lab.org");
        using var carol = f.As("carol@lab.org");
        var uuid = await admin.CreateRepoAsync("shared");
        await (await carol.GetAsync($"/api/repo/{uuid}/info")).ExpectAsync(200); // group "curators": admin of "shared"
        try
        {
            await File.WriteAllTextAsync(f.AuthFile, """{"users": {"carol@lab.org": {"*": "bogus"}}}""");
            await (await admin.PostAsync("/api/server/reload-auth", null)).ExpectErrorAsync(400, "role \"bogus\"");
            await (await carol.GetAsync($"/api/repo/{uuid}/info")).ExpectAsync(200); // the old policy still holds
            await File.WriteAllTextAsync(f.AuthFile, """{"users": {"carol@lab.org": {"other": "read"}}, "admins": ["boss@lab.org"]}""");
            await (await carol.PostAsync("/api/server/reload-auth", null)).ExpectErrorAsync(403, "server admin");
            var ok = await (await admin.PostAsync("/api/server/reload-auth", null)).ExpectAsync(200);
            Assert.StartsWith("Reloaded authorizations from file", await ok.Content.ReadAsStringAsync());
            await (await carol.GetAsync($"/api/repo/{uuid}/info")).ExpectErrorAsync(403, "read role");
        }
        finally
        {
            await File.WriteAllTextAsync(f.AuthFile, AuthServerFixture.Policy);
            await (await admin.PostAsync("/api/server/reload-auth", null)).ExpectAsync(200);
        }
    }

    /// <summary>
    /// Every mapped route, with anonymous, reader, writer and admin callers: a caller whose role the route's access
    /// (<see cref="RouteAccess"/>) does not cover gets 401/403, and any other gets past the check. The requests are the
    /// route-coverage test's bad-input cases, in the repo of this test.
    /// </summary>
    [Fact]
    public async Task Every_route_gives_each_role_exactly_what_it_should()
    {
        using var admin = f.As("boss@lab.org");
        var uuid = await admin.CreateRepoAsync("meta");
        foreach (var (type, name, extra) in new (string, string, object?)[]
        {
            ("keyvalue", "kv", null), ("uint8blk", "img", new { BlockSize = "8,8,8" }), ("roi", "r", null), ("labelmap", "lab", null),
            ("labelarray", "arr", null), ("labelvol", "lv", null), ("annotation", "syn", null), ("labelsz", "sz", null),
            ("tarsupervoxels", "tsv", new { Extension = "drc" }), ("neuronjson", "nj", null),
        })
            await admin.CreateInstanceAsync(uuid, type, name, extra);
        var endpoints = EndpointsByRoute(f.Server.Services);
        var cases = RouteCoverageTests.Cases();
        Assert.Empty(RouteAccess.Listed.Where(k => !endpoints.ContainsKey(k)));
        var callers = new (string Name, string? User, Func<Access, bool> Allowed)[]
        {
            ("anonymous", null, a => a == Access.Public),
            ("reader", "reader@lab.org", a => a is Access.Public or Access.SignedIn or Access.Read),
            ("writer", "writer@lab.org", a => a is Access.Public or Access.SignedIn or Access.Read or Access.Write),
            ("admin", "boss@lab.org", _ => true),
        };
        var wrong = new List<string>();
        int checkedCount = 0;
        foreach (var (callerName, user, allowed) in callers)
        {
            using var c = f.As(user);
            foreach (var (route, endpoint) in endpoints)
            {
                string url; string? body;
                if (cases.TryGetValue(route, out var make)) (url, body, _) = make(uuid);
                else if (RouteCoverageTests.NoInput.Contains(route)) (url, body) = (route.Split(' ')[1], null);
                else continue;
                url = url.Replace(RouteCoverageTests.Unknown, uuid);
                var method = route.Split(' ')[0];
                var access = RouteAccess.Of(endpoint, method);
                var r = await c.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = body is null ? null : DvidClient.Text(body) });
                bool denied = r.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
                if (denied == allowed(access)) wrong.Add($"{callerName} {route} ({access}): {(int)r.StatusCode} {(await r.Content.ReadAsStringAsync()).Trim()}");
                checkedCount++;
            }
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {checkedCount} checks wrong:\n" + string.Join("\n", wrong));
        Assert.True(checkedCount > 4 * 200, $"only {checkedCount} checks");
    }

    /// <summary>"METHOD pattern" → endpoint, as the route-coverage test names routes.</summary>
    private static Dictionary<string, Endpoint> EndpointsByRoute(IServiceProvider services)
    {
        var map = new Dictionary<string, Endpoint>();
        var sources = services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        foreach (var e in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            var pattern = "/" + e.RoutePattern.RawText!.TrimStart('/');
            var methods = e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods;
            if (methods is null) { if (pattern is "/api/node/{uuid}/{name}/{**rest}" or "/metrics") map["GET " + pattern] = e; continue; }
            foreach (var m in methods.Where(x => x != "PATCH").Select(x => x == "HEAD" && methods.Contains("GET") ? "GET" : x).Distinct())
                map.TryAdd($"{m} {pattern}", e);
        }
        return map;
    }
}

/// <summary>The viewer, the C# client and the CLI with a token (issue 16).</summary>
public class AuthClientTests(AuthServerFixture f) : IClassFixture<AuthServerFixture>
{
    [Fact]
    public async Task The_client_and_the_cli_send_a_token_and_say_who_is_signed_in()
    {
        var token = AuthServerFixture.Token("writer@lab.org");
        await using (var store = await Diced.Client.DicedStore.OpenAsync(f.Server.BaseAddress.ToString(), new Diced.Client.DicedStoreOptions { Token = token }))
        {
            Assert.Equal("writer@lab.org", await store.WhoAmIAsync());
            await store.CreateRepoAsync("client-made").ContinueWith(t => Assert.True(t.IsFaulted)); // writers may not create repos
        }
        await using (var anonymous = await Diced.Client.DicedStore.OpenAsync(f.Server.BaseAddress.ToString(), new Diced.Client.DicedStoreOptions { Token = null }))
            Assert.Null(await anonymous.WhoAmIAsync());
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = await Diced.Cli.DicedCli.RunAsync(["whoami", "--store", f.Server.BaseAddress.ToString(), "--token", token], stdout, stderr);
        Assert.Equal(0, rc);
        Assert.Equal("writer@lab.org", stdout.ToString().Trim());
    }

    [Fact]
    public async Task The_viewer_sends_its_token_and_shows_who_is_signed_in()
    {
        using var admin = f.As("boss@lab.org");
        var uuid = await admin.CreateRepoAsync("viewer-auth");
        using var pw = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new Microsoft.Playwright.BrowserTypeLaunchOptions
        {
            ExecutablePath = Diced.Tests.Viewer.BrowserFixture.Chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(f.Server.BaseAddress.ToString());
        await page.WaitForFunctionAsync("() => document.querySelector('#who').textContent.length > 0");
        Assert.Equal("not signed in", await page.TextContentAsync("#who"));
        Assert.Equal(0, await page.Locator($"#repos tr[data-uuid='{uuid}']").CountAsync());
        await page.EvaluateAsync($"() => localStorage.setItem('dicedToken', '{AuthServerFixture.Token("reader@lab.org")}')");
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('#who').textContent.startsWith('signed in')");
        Assert.Equal("signed in as reader@lab.org", await page.TextContentAsync("#who"));
        await page.WaitForSelectorAsync($"text=viewer-auth");
    }
}
