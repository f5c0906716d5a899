# Diced server image: build with the .NET SDK, run on the ASP.NET runtime as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Diced.Server/Diced.Server.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
RUN mkdir -p /data && chown -R app:app /data
USER app
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["dotnet", "Diced.Server.dll", "--urls", "http://0.0.0.0:8000", "--data", "/data"]
