namespace Diced.Client;

/// <summary>A DICED operation that cannot be done: unknown repo or array, locked version, bad shape, server error.</summary>
public class DicedException(string message, Exception? inner = null) : Exception(message, inner);
