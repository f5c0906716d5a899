namespace Diced.Datastore.Types.ImageBlock;

/// <summary>Element types of image volumes and their DVID names.</summary>
public enum VoxelType { Uint8, Uint16, Uint32, Uint64, Float32 }

public static class VoxelTypes
{
    public static int BytesPerVoxel(this VoxelType t) => t switch
    {
        VoxelType.Uint8 => 1, VoxelType.Uint16 => 2, VoxelType.Uint32 or VoxelType.Float32 => 4, _ => 8,
    };

    /// <summary>DVID's <c>Values[].DataType</c> string.</summary>
    public static string DataTypeName(this VoxelType t) => t switch
    {
        VoxelType.Uint8 => "uint8", VoxelType.Uint16 => "uint16", VoxelType.Uint32 => "uint32", VoxelType.Uint64 => "uint64", _ => "float32",
    };
}
