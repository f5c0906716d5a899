using Diced.Codecs;

namespace Diced.Tests.Codecs;

/// <summary>Blosc 1 frames as numcodecs writes them (zarr v2's default compressor), byte-exact vectors: 300 uint16
/// values 0, 7, 14, … made with numcodecs 0.10 (Debian) in each mode.</summary>
public class BloscFrameTests
{
    private static readonly byte[] Expected = Enumerable.Range(0, 300).SelectMany(i => BitConverter.GetBytes((ushort)(i * 7))).ToArray();

    [Theory]
    [InlineData("lz4, byte shuffle", "02012102580200005802000057010000140000000b010000fff100070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2c9d0d7dee5ecf3fa01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3dae1e8eff6fd040b121920272e353c434a51585f666d747b828990979ea5acb3bac1c8cfd6dde4ebf2f90001145011181f262d300000001f000100111f010100111f020100101f030100111f040100101f050100111f060100101f070100117008080808080808")]
    [InlineData("zlib, byte shuffle", "020161025802000058020000570100001400000019010000785e6360e7139551d632b4b077f30d894eca2c28af6bed993c6be18af5dbf61e397de9e683e7efbefe61e612949057d335b176f20c088f4bcd29ae6aece89f3677c9ea4d3b0f1c3f77f5cee3571f7ffc67e3159156d23430b773f5098e4accc82fab6de99e3473c1f2755bf71c3e75f1c6fd676fbffc66e214109753d531b672f4f00f8b4dc92eaa6c68ef9b3a67f1aa8d3bf61f3b7be5f6a3971fbeff63e5119652d4d037b375f10e8a4c48cf2bad69ee9a3863feb2b55b761f3a79e1fabda76f3eff62e4e0179355d136b27470f70b8d49ce2aaca86feb9d327bd1ca0ddbf71d3d73f9d6c317efbffd65e116925450d733b571f60a8c884fcb2da96eea9c307dded2359b771d3c71fedadd27af3ffd6420c1ff005d9a925f22000000785e63602002301203988800ccc4001622002b31808d08c04e0ce08000008d890439")]
    public void Decodes_numcodecs_frames(string mode, string hex)
    {
        Assert.True(BloscFrame.LooksLikeBlosc(Convert.FromHexString(hex)), mode);
        Assert.Equal(Expected, BloscFrame.Decode(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Decodes_a_copied_frame()
    {
        var frame = new byte[16 + Expected.Length];
        Convert.FromHexString("02012202580200005802000068020000").CopyTo(frame, 0);
        Expected.CopyTo(frame, 16);
        Assert.Equal(Expected, BloscFrame.Decode(frame));
    }

    [Theory]
    [InlineData("", "header")]
    [InlineData("0201210258020000580200005701", "header")]
    [InlineData("02012102580200005802000099990000", "not a Blosc frame")]                       // size disagrees with the frame
    [InlineData("0201010258020000580200001900000014000000" + "01000000" + "00", "blosclz")]      // BloscLZ: no .NET codec
    [InlineData("0201250258020000580200001800000014000000ffffff7f", "bit-shuffle")]
    [InlineData("02012102580200005802000014000000ffffff7f", "outside")]                       // a block start past the end
    public void Refuses_corrupt_or_unsupported_frames(string hex, string message)
    {
        var frame = Convert.FromHexString(hex);
        var e = Assert.Throws<InvalidDataException>(() => BloscFrame.Decode(frame));
        Assert.Contains(message, e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
