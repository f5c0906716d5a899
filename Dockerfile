# Diced server image: build with the .NET SDK, run on the ASP.NET runtime as a non-root user.
# The build step is docker/publish.sh, which the tests also run and start exactly as ENTRYPOINT does.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Node.js and npm bundle Neuroglancer (served at /neuroglancer/) during the server build.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash docker/publish.sh /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
RUN mkdir -p /data && chown -R app:app /data
USER app
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["dotnet", "Diced.Server.dll", "--urls", "http://0.0.0.0:8000", "--data", "/data"]
