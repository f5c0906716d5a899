using Diced.Server.Auth;
using Diced.Datastore.Types;
using Diced.Server.Endpoints;
using Diced.Server.Endpoints.Imageblk;
using Diced.Server.Endpoints.Keyvalue;
using Diced.Server.Endpoints.Roi;
using Diced.Server.Http;
using Diced.Server.Json;
using Diced.Storage;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Serilog;

namespace Diced.Server;

/// <summary>Builds the Diced web application: configuration, storage, middleware and every DVID route.</summary>
public static class DicedApp
{
    /// <summary>Creates a builder with Diced's services; <c>--data DIR</c> sets the store location.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        // No configuration file watching: ASP.NET would watch the content root recursively for appsettings changes, and
        // the embedded store's files (./data by default) live there, so every RocksDB write woke the watcher.
        var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        // The build output carries the repository's appsettings.json and wwwroot: use them as defaults wherever the
        // server is started from (the content root's own appsettings.json, if any, still overrides).
        builder.Configuration.Sources.Insert(0, new JsonConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory), Path = "appsettings.json", Optional = true,
        });
        builder.Configuration.Sources.OfType<JsonConfigurationSource>().ToList().ForEach(s => s.ReloadOnChange = false);
        var webRoot = Path.Combine(builder.Environment.ContentRootPath, "wwwroot");
        if (!Directory.Exists(webRoot)) webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        builder.Environment.WebRootPath = webRoot;
        builder.Environment.WebRootFileProvider = new PhysicalFileProvider(webRoot);
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
        {
            ["--data"] = "Diced:Data",
            ["--note"] = "Diced:Note",
            ["--log-format"] = "Diced:LogFormat",
        });
        builder.Host.UseSerilog((ctx, services, log) =>
        {
            log.ReadFrom.Configuration(ctx.Configuration).Enrich.FromLogContext();
            // --log-format json: one compact JSON object per event, for log shippers.
            if (string.Equals(ctx.Configuration["Diced:LogFormat"], "json", StringComparison.OrdinalIgnoreCase))
                log.WriteTo.Console(new Serilog.Formatting.Compact.CompactJsonFormatter(), standardErrorFromLevel: Serilog.Events.LogEventLevel.Warning);
            else
                log.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {Properties:j}{NewLine}{Exception}",
                    standardErrorFromLevel: Serilog.Events.LogEventLevel.Warning);
        }, preserveStaticLogger: true); // several hosts may share a process (tests, the embedded client)
        builder.Host.ConfigureHostOptions(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null; // each endpoint enforces its own limit with a clear message
            k.AddServerHeader = false;
        });

        builder.Services.Configure<DicedOptions>(builder.Configuration.GetSection("Diced"));
        // Origin lists: the binder would append configured items to the defaults, and an empty list cannot be written
        // as configuration at all; so they are read here, as a list or as one comma-separated value ("" or "none": empty).
        builder.Services.PostConfigure<DicedOptions>(o =>
        {
            o.CorsOrigins = OriginList(builder.Configuration.GetSection("Diced:CorsOrigins"), ["*"]);
            o.CorsWriteOrigins = OriginList(builder.Configuration.GetSection("Diced:CorsWriteOrigins"), []);
        });
        builder.Services.Configure<RouteOptions>(o =>
        {
            o.SetParameterPolicy<DataTypeConstraint>(DataTypeConstraint.Name);
            o.SetParameterPolicy<Endpoints.Meshes.GeneratedMeshesConstraint>(Endpoints.Meshes.GeneratedMeshesConstraint.Name);
        });
        builder.AddDicedAuth();
        Operations.Observability.AddObservability(builder);
        builder.Services.AddSingleton(DataTypeRegistry.Default());
        builder.Services.AddSingleton<IKeyValueStore>(sp => OpenStore(sp.GetRequiredService<IOptions<DicedOptions>>().Value));
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DicedOptions>>().Value;
            var named = options.Stores.ToDictionary(kv => kv.Key, kv => OpenStore(kv.Value, options));
            return new Datastore.StoreMap(sp.GetRequiredService<IKeyValueStore>(), named, options.Backend);
        });
        builder.Services.AddSingleton(sp => Datastore.Datastore.OpenAsync(
            sp.GetRequiredService<Datastore.StoreMap>(), sp.GetRequiredService<DataTypeRegistry>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Diced.Datastore")).GetAwaiter().GetResult());
        builder.Services.AddSingleton(_ =>
        {
            var writers = new InstanceInfoWriters();
            VolumeMetadataEndpoints.RegisterImageInfo(writers);
            RoiEndpoints.RegisterRoiInfo(writers);
            Endpoints.Labels.LabelEndpoints.RegisterLabelInfo(writers);
            Endpoints.Labels.LabelvolEndpoints.RegisterInfo(writers);
            Endpoints.Tarsupervoxels.TarsupervoxelsEndpoints.RegisterInfo(writers);
            Endpoints.NdArray.NdArrayEndpoints.RegisterInfo(writers);
            return writers;
        });
        builder.Services.AddSingleton<Throttle>();
        builder.Services.AddSingleton<BodyBudget>();
        builder.Services.AddSingleton<WriteModes>();
        builder.Services.AddSingleton<RepoJson>();
        builder.Services.AddCors();
        builder.Services.AddSingleton<CrossOrigin>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Cors.Infrastructure.ICorsPolicyProvider>(sp => sp.GetRequiredService<CrossOrigin>());
        builder.Services.AddOpenApi();
        customize?.Invoke(builder);
        return builder;
    }

    private static string[] OriginList(IConfigurationSection section, string[] fallback)
    {
        if (section.GetChildren().Any()) return section.GetChildren().Select(c => c.Value ?? "").Where(v => v.Length > 0).ToArray();
        if (section.Value is null) return fallback;
        return section.Value.Trim() is "" or "none"
            ? []
            : section.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>The first address a started app listens on (for servers started on port 0 by tests and benchmarks).</summary>
    public static Uri ListenAddress(this WebApplication app)
        => new(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Opens the store named by <see cref="DicedOptions.Data"/>.</summary>
    public static IKeyValueStore OpenStore(DicedOptions options) => OpenStore(options.Data, options);

    /// <summary>Opens the store at <paramref name="data"/> (a directory, <c>s3://bucket/prefix</c> or <c>gs://bucket/prefix</c>).</summary>
    public static IKeyValueStore OpenStore(string data, DicedOptions options)
    {
        if (data.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var (bucket, prefix) = SplitLocation(data);
            var s = options.S3;
            var credentials = s.AccessKey is not null && s.SecretKey is not null ? new Amazon.Runtime.BasicAWSCredentials(s.AccessKey, s.SecretKey) : null;
            return new RetryingKeyValueStore(S3KeyValueStore.OpenAsync(bucket, prefix, new S3StoreOptions
            {
                Endpoint = s.Endpoint, Region = s.Region, ForcePathStyle = s.ForcePathStyle, CreateBucket = s.CreateBucket,
                CompatibleChecksums = s.CompatibleChecksums, Parallelism = s.Parallelism,
            }, credentials).GetAwaiter().GetResult());
        }
        if (data.StartsWith("gs://", StringComparison.OrdinalIgnoreCase))
        {
            var (bucket, prefix) = SplitLocation(data);
            var g = options.Gcs;
            return new RetryingKeyValueStore(GcsKeyValueStore.OpenAsync(bucket, prefix, new GcsStoreOptions
            {
                Endpoint = g.Endpoint, CredentialsFile = g.CredentialsFile, Anonymous = g.Anonymous, CreateBucket = g.CreateBucket,
                Project = g.Project, Parallelism = g.Parallelism,
            }).GetAwaiter().GetResult());
        }
        if (data.Contains("://"))
            throw new ArgumentException($"store location \"{data}\" is not supported; use a directory, s3://bucket/prefix or gs://bucket/prefix");
        return new RocksDbKeyValueStore(data, new RocksDbOptions { SyncWrites = options.SyncWrites, IngestBatchBytes = options.IngestBatchBytes });
    }

    /// <summary>Bucket and prefix of <c>scheme://bucket/prefix</c>.</summary>
    private static (string Bucket, string Prefix) SplitLocation(string location)
    {
        var rest = location[(location.IndexOf("://", StringComparison.Ordinal) + 3)..];
        int slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length == 0) throw new ArgumentException($"store location \"{location}\" names no bucket");
        return (bucket, slash < 0 ? "" : rest[(slash + 1)..]);
    }

    /// <summary>Adds middleware and routes.</summary>
    public static WebApplication Configure(WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<DicedOptions>>().Value;
        // Open the store now, so start-up failures (locked or unreadable data directory) stop the process at once.
        var ds = app.Services.GetRequiredService<Datastore.Datastore>();
        app.Services.GetRequiredService<WriteModes>(); // refuses contradictory modes at start
        ds.GeneratedMeshes = options.GeneratedMeshes;
        app.Lifetime.ApplicationStopping.Register(() => ds.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(1)));
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<Datastore.StoreMap>().DisposeAsync().AsTask().Wait());

        app.UseSerilogRequestLogging(o =>
        {
            o.MessageTemplate = "{RequestMethod} {RequestPath} {StatusCode} {Elapsed:0.0} ms";
            o.Logger = app.Services.GetService<Serilog.ILogger>(); // this host's logger (text or JSON), not the process-wide one
            o.EnrichDiagnosticContext = (diag, http) =>
            {
                if (Auth.Caller.UserOf(http) is { Length: > 0 } user) diag.Set("User", user);
                if (http.GetEndpoint() is RouteEndpoint e) diag.Set("Route", e.RoutePattern.RawText);
                diag.Set("BytesIn", http.Request.ContentLength ?? 0);
                diag.Set("BytesOut", http.Response.ContentLength ?? 0);
            };
        });
        app.UseMiddleware<DvidErrorMiddleware>();
        app.UseHeadWithoutBody();
        app.UseDotSegmentGuard();
        app.UseCors();
        app.UseCrossOriginWriteGuard();
        WriteModes.UseReadOnlyMode(app, options);
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseRouting();
        Operations.Observability.UseByteCounters(app);
        Auth.AuthSetup.Check(app, options);
        if (options.Auth.Enabled) app.UseMiddleware<Auth.AccessMiddleware>();
        app.UseNotFoundForWrongMethod();

        app.MapOpenApi("/openapi/v1.json");
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/openapi/v1.json", "Diced (DVID API)");
            o.RoutePrefix = "swagger";
        });

        Operations.Observability.MapObservability(app);
        app.MapServerEndpoints();
        Auth.AuthSetup.MapAuthEndpoints(app);
        app.MapRepoEndpoints();
        Endpoints.MergeEndpoints.MapMergeEndpoints(app);
        Endpoints.VersionEndpoints.MapVersionEndpoints(app);
        Endpoints.StorageEndpoints.MapStorageEndpoints(app);
        app.MapNodeEndpoints();
        app.MapKeyvalueEndpoints();
        app.MapImageblkEndpoints();
        app.MapRoiEndpoints();
        Endpoints.NdArray.NdArrayEndpoints.MapNdArrayEndpoints(app);
        Endpoints.Annotation.AnnotationEndpoints.MapAnnotationEndpoints(app);
        Endpoints.Labelsz.LabelszEndpoints.MapLabelszEndpoints(app);
        Endpoints.Tarsupervoxels.TarsupervoxelsEndpoints.MapTarsupervoxelsEndpoints(app);
        Endpoints.Neuronjson.NeuronjsonEndpoints.MapNeuronjsonEndpoints(app);
        Endpoints.Meshes.GeneratedMeshEndpoints.MapGeneratedMeshEndpoints(app);
        Endpoints.Labels.LabelEndpoints.MapLabelEndpoints(app);
        app.MapInstanceEndpoints();
        app.MapNotFound();
        return app;
    }
}
