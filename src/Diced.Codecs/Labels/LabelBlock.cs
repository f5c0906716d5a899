using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Diced.Codecs.Labels;

/// <summary>
/// DVID's compressed label block ("DVID Block", reference §10.3): a block of uint64 labels split into 8³ sub-blocks,
/// each holding the indices of its few distinct labels into a block-wide label table, bit-packed MSB-first.
/// Encoding allocates only the output; decoding validates every length and index against the buffer.
/// </summary>
public static class LabelBlock
{
    private const int Sub = 8, SubVoxels = 512;

    /// <summary>Bits per voxel index for a sub-block of <paramref name="n"/> distinct labels: ceil(log2 n), 0 when n ≤ 1.</summary>
    public static int BitsFor(int n) => n <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(n - 1));

    /// <summary>Encodes a block of <paramref name="size"/> voxels (x fastest; every side a multiple of 8, at most 1024).</summary>
    public static byte[] Encode(ReadOnlySpan<ulong> labels, (int X, int Y, int Z) size)
    {
        Validate(size);
        if (labels.Length != size.X * size.Y * size.Z)
            throw new ArgumentException($"expected {size.X * size.Y * size.Z} labels for a {size.X}x{size.Y}x{size.Z} block, got {labels.Length}");
        int gx = size.X / Sub, gy = size.Y / Sub, gz = size.Z / Sub, nsb = gx * gy * gz;

        if (IsSolid(labels))
        {
            var solid = new byte[24];
            WriteHeader(solid, gx, gy, gz, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(solid.AsSpan(16), labels[0]);
            return solid;
        }

        // Pass 1: per sub-block distinct labels (first-seen order) and each voxel's index among them.
        var table = new LabelTable(64);
        var subLabels = ArrayPool<uint>.Shared.Rent(nsb * 8);    // block-table indices of each sub-block's labels, grown on demand
        var subCounts = ArrayPool<ushort>.Shared.Rent(nsb);
        var voxelIndex = ArrayPool<ushort>.Shared.Rent(nsb * SubVoxels); // per sub-block, 512 local indices
        try
        {
            var local = new LocalSet();
            int idxCount = 0, valueBytes = 0;
            for (int sz = 0, s = 0; sz < gz; sz++)
            for (int sy = 0; sy < gy; sy++)
            for (int sx = 0; sx < gx; sx++, s++)
            {
                local.Clear();
                var indices = voxelIndex.AsSpan(s * SubVoxels, SubVoxels);
                int v = 0;
                ulong prev = 0;
                int prevLocal = -1;
                for (int z = 0; z < Sub; z++)
                for (int y = 0; y < Sub; y++)
                {
                    var row = labels.Slice(((sz * Sub + z) * size.Y + sy * Sub + y) * size.X + sx * Sub, Sub);
                    for (int x = 0; x < Sub; x++, v++)
                    {
                        ulong label = row[x];
                        if (label != prev || prevLocal < 0)
                        {
                            prevLocal = local.IndexOf(label);
                            prev = label;
                        }
                        indices[v] = (ushort)prevLocal;
                    }
                }
                subCounts[s] = (ushort)local.Count;
                if (idxCount + local.Count > subLabels.Length)
                {
                    var grown = ArrayPool<uint>.Shared.Rent(Math.Max(subLabels.Length * 2, idxCount + local.Count));
                    subLabels.AsSpan(0, idxCount).CopyTo(grown);
                    ArrayPool<uint>.Shared.Return(subLabels);
                    subLabels = grown;
                }
                for (int i = 0; i < local.Count; i++) subLabels[idxCount + i] = (uint)table.IndexOf(local.Labels[i]);
                idxCount += local.Count;
                valueBytes += (SubVoxels * BitsFor(local.Count) + 7) / 8;
            }

            // Pass 2: write.
            int n = table.Count;
            var output = new byte[16 + 8 * n + 2 * nsb + 4 * idxCount + valueBytes];
            WriteHeader(output, gx, gy, gz, n);
            int pos = 16;
            for (int i = 0; i < n; i++, pos += 8) BinaryPrimitives.WriteUInt64LittleEndian(output.AsSpan(pos), table.Labels[i]);
            for (int s = 0; s < nsb; s++, pos += 2) BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(pos), subCounts[s]);
            for (int i = 0; i < idxCount; i++, pos += 4) BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(pos), subLabels[i]);
            for (int s = 0; s < nsb; s++)
            {
                int bits = BitsFor(subCounts[s]);
                if (bits == 0) continue;
                pos += PackMsbFirst(voxelIndex.AsSpan(s * SubVoxels, SubVoxels), bits, output.AsSpan(pos));
            }
            return output;
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(subLabels);
            ArrayPool<ushort>.Shared.Return(subCounts);
            ArrayPool<ushort>.Shared.Return(voxelIndex);
        }
    }

    /// <summary>The block size a DVID Block declares (voxels per side).</summary>
    public static (int X, int Y, int Z) SizeOf(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length < 16) throw new InvalidDataException($"label block of {encoded.Length} bytes is shorter than its 16-byte header");
        long gx = BinaryPrimitives.ReadUInt32LittleEndian(encoded), gy = BinaryPrimitives.ReadUInt32LittleEndian(encoded[4..]),
            gz = BinaryPrimitives.ReadUInt32LittleEndian(encoded[8..]);
        if (gx is 0 or > 128 || gy is 0 or > 128 || gz is 0 or > 128)
            throw new InvalidDataException($"label block header declares {gx}x{gy}x{gz} sub-blocks (each must be 1..128)");
        return ((int)gx * Sub, (int)gy * Sub, (int)gz * Sub);
    }

    /// <summary>Decodes into <paramref name="destination"/> (x fastest), which must hold exactly the declared block.</summary>
    public static void Decode(ReadOnlySpan<byte> encoded, Span<ulong> destination)
    {
        var size = SizeOf(encoded);
        int gx = size.X / Sub, gy = size.Y / Sub, gz = size.Z / Sub, nsb = gx * gy * gz;
        if (destination.Length != size.X * size.Y * size.Z)
            throw new InvalidDataException($"label block is {size.X}x{size.Y}x{size.Z}, expected {destination.Length} voxels");
        long n = BinaryPrimitives.ReadUInt32LittleEndian(encoded[12..]);
        if (n == 0) throw new InvalidDataException("label block has an empty label table");
        long labelsEnd = 16 + 8 * n;
        if (labelsEnd > encoded.Length) throw new InvalidDataException($"label block declares {n} labels but has only {encoded.Length} bytes");
        var table = MemoryMarshal.Cast<byte, ulong>(encoded[16..(int)labelsEnd]);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts");
        if (n == 1)
        {
            if (encoded.Length != 24) throw new InvalidDataException($"solid label block must be 24 bytes, got {encoded.Length}");
            destination.Fill(table[0]);
            return;
        }
        long countsEnd = labelsEnd + 2L * nsb;
        if (countsEnd > encoded.Length) throw new InvalidDataException("label block is truncated in its sub-block label counts");
        var counts = encoded[(int)labelsEnd..(int)countsEnd];
        long totalIdx = 0, totalValues = 0;
        for (int s = 0; s < nsb; s++)
        {
            int c = BinaryPrimitives.ReadUInt16LittleEndian(counts[(2 * s)..]);
            if (c > SubVoxels) throw new InvalidDataException($"sub-block {s} declares {c} labels (at most 512)");
            totalIdx += c;
            totalValues += (SubVoxels * BitsFor(c) + 7) / 8;
        }
        long idxEnd = countsEnd + 4 * totalIdx;
        if (idxEnd + totalValues != encoded.Length)
            throw new InvalidDataException($"label block length {encoded.Length} disagrees with its header (expected {idxEnd + totalValues} bytes)");
        var idx = encoded[(int)countsEnd..(int)idxEnd];
        var values = encoded[(int)idxEnd..];
        Span<ulong> subTable = stackalloc ulong[SubVoxels];
        int idxPos = 0, valuePos = 0;
        for (int sz = 0, s = 0; sz < gz; sz++)
        for (int sy = 0; sy < gy; sy++)
        for (int sx = 0; sx < gx; sx++, s++)
        {
            int c = BinaryPrimitives.ReadUInt16LittleEndian(counts[(2 * s)..]);
            for (int i = 0; i < c; i++)
            {
                uint li = BinaryPrimitives.ReadUInt32LittleEndian(idx[(4 * (idxPos + i))..]);
                if (li >= n) LabelBlockThrow.LabelIndexBeyondTable(s, li, n);
                subTable[i] = table[(int)li];
            }
            idxPos += c;
            int bits = BitsFor(c);
            if (bits == 0)
            {
                ulong fill = c == 0 ? 0 : subTable[0];
                for (int z = 0; z < Sub; z++)
                for (int y = 0; y < Sub; y++)
                    destination.Slice(((sz * Sub + z) * size.Y + sy * Sub + y) * size.X + sx * Sub, Sub).Fill(fill);
                continue;
            }
            var packed = values[valuePos..];
            valuePos += (SubVoxels * bits + 7) / 8;
            uint mask = (1u << bits) - 1;
            int bit = 0;
            for (int z = 0; z < Sub; z++)
            for (int y = 0; y < Sub; y++)
            {
                var row = destination.Slice(((sz * Sub + z) * size.Y + sy * Sub + y) * size.X + sx * Sub, Sub);
                for (int x = 0; x < Sub; x++, bit += bits)
                {
                    // Read up to 16 bits spanning two bytes, MSB-first (bits ≤ 9, so a value touches at most 2 bytes).
                    int b = bit >> 3;
                    uint window = (uint)packed[b] << 8 | (b + 1 < packed.Length ? packed[b + 1] : 0u);
                    uint v = (window >> (16 - (bit & 7) - bits)) & mask;
                    if (v >= c) LabelBlockThrow.VoxelIndexBeyondLabels(s, v, c);
                    row[x] = subTable[(int)v];
                }
            }
        }
    }

    /// <summary>Decodes a block that must be exactly <paramref name="size"/> (an instance's block size).</summary>
    /// <exception cref="InvalidDataException">The block is corrupt or of another size.</exception>
    public static void DecodeExactly(ReadOnlySpan<byte> encoded, (int X, int Y, int Z) size, Span<ulong> destination)
    {
        var declared = SizeOf(encoded);
        if (declared != size)
            throw new InvalidDataException($"it is {declared.X}x{declared.Y}x{declared.Z}, the instance's blocks are {size.X}x{size.Y}x{size.Z}");
        Decode(encoded, destination);
    }

    /// <summary>
    /// The longest valid block of <paramref name="size"/>: header, a table entry per voxel, sub-block label counts,
    /// an index per voxel and 9-bit values. Anything longer is not a block (a bound for decompressing untrusted input).
    /// </summary>
    public static long MaxEncodedLength((int X, int Y, int Z) size)
    {
        long voxels = (long)size.X * size.Y * size.Z, subBlocks = voxels / SubVoxels;
        return 16 + 8 * voxels + 2 * subBlocks + 4 * voxels + (9 * voxels + 7) / 8;
    }

    /// <summary>
    /// Rewrites the label table of an encoded block in place through <paramref name="mapping"/> (labels it lacks, and 0,
    /// stay); returns whether any changed. Voxels refer to table positions, so the block then decodes to the mapped
    /// labels; the table may hold repeats afterwards, which the format allows.
    /// </summary>
    public static bool RemapTable(Span<byte> encoded, IReadOnlyDictionary<ulong, ulong> mapping)
    {
        if (mapping.Count == 0) return false;
        SizeOf(encoded);
        long n = BinaryPrimitives.ReadUInt32LittleEndian(encoded[12..]);
        if (16 + 8 * n > encoded.Length) throw new InvalidDataException($"label block declares {n} labels but has only {encoded.Length} bytes");
        var table = MemoryMarshal.Cast<byte, ulong>(encoded[16..(int)(16 + 8 * n)]);
        bool changed = false;
        for (int i = 0; i < table.Length; i++)
            if (table[i] != 0 && mapping.TryGetValue(table[i], out var to) && to != table[i]) { table[i] = to; changed = true; }
        return changed;
    }

    /// <summary>Decodes a DVID Block to a new array, with its size.</summary>
    public static (ulong[] Labels, (int X, int Y, int Z) Size) Decode(ReadOnlySpan<byte> encoded)
    {
        var size = SizeOf(encoded);
        var labels = new ulong[size.X * size.Y * size.Z];
        Decode(encoded, labels);
        return (labels, size);
    }

    /// <summary>The distinct labels of a DVID Block's table (without decoding voxels; may include unused entries).</summary>
    public static ulong[] TableOf(ReadOnlySpan<byte> encoded)
    {
        SizeOf(encoded);
        long n = BinaryPrimitives.ReadUInt32LittleEndian(encoded[12..]);
        if (16 + 8 * n > encoded.Length) throw new InvalidDataException($"label block declares {n} labels but has only {encoded.Length} bytes");
        return MemoryMarshal.Cast<byte, ulong>(encoded[16..(int)(16 + 8 * n)]).ToArray();
    }

    private static void Validate((int X, int Y, int Z) size)
    {
        if (size.X % Sub != 0 || size.Y % Sub != 0 || size.Z % Sub != 0 || size.X <= 0 || size.Y <= 0 || size.Z <= 0 || size.X > 1024 || size.Y > 1024 || size.Z > 1024)
            throw new ArgumentException($"label block size {size.X}x{size.Y}x{size.Z} must be multiples of 8 up to 1024");
    }

    private static bool IsSolid(ReadOnlySpan<ulong> labels)
    {
        ulong first = labels[0];
        return labels.IndexOfAnyExcept(first) < 0;
    }

    private static void WriteHeader(Span<byte> output, int gx, int gy, int gz, int n)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(output, (uint)gx);
        BinaryPrimitives.WriteUInt32LittleEndian(output[4..], (uint)gy);
        BinaryPrimitives.WriteUInt32LittleEndian(output[8..], (uint)gz);
        BinaryPrimitives.WriteUInt32LittleEndian(output[12..], (uint)n);
    }

    /// <summary>Packs 512 indices of <paramref name="bits"/> bits MSB-first; returns the bytes written.</summary>
    private static int PackMsbFirst(ReadOnlySpan<ushort> indices, int bits, Span<byte> output)
    {
        int bytes = (SubVoxels * bits + 7) / 8;
        ulong acc = 0;
        int accBits = 0, pos = 0;
        foreach (var v in indices)
        {
            acc = acc << bits | v;
            accBits += bits;
            while (accBits >= 8)
            {
                accBits -= 8;
                output[pos++] = (byte)(acc >> accBits);
            }
        }
        if (accBits > 0) output[pos++] = (byte)(acc << (8 - accBits));
        return bytes;
    }

    /// <summary>Distinct labels of one sub-block in first-seen order (≤ 512), with a small open-addressing index.</summary>
    private sealed class LocalSet
    {
        private const int Slots = 1024;
        public readonly ulong[] Labels = new ulong[SubVoxels];
        private readonly ulong[] _keys = new ulong[Slots];
        private readonly short[] _values = new short[Slots];
        private readonly int[] _stamp = new int[Slots];
        private int _generation;
        public int Count;

        public void Clear()
        {
            Count = 0;
            _generation++;
        }

        public int IndexOf(ulong label)
        {
            int slot = (int)(Mix(label) & (Slots - 1));
            while (_stamp[slot] == _generation)
            {
                if (_keys[slot] == label) return _values[slot];
                slot = (slot + 1) & (Slots - 1);
            }
            _stamp[slot] = _generation;
            _keys[slot] = label;
            _values[slot] = (short)Count;
            Labels[Count] = label;
            return Count++;
        }
    }

    /// <summary>The block-wide label table: label → position, insertion order.</summary>
    private sealed class LabelTable(int capacity)
    {
        private ulong[] _keys = new ulong[capacity * 2];
        private int[] _values = NewValues(capacity * 2);
        public ulong[] Labels = new ulong[capacity];
        public int Count;

        private static int[] NewValues(int n)
        {
            var v = new int[n];
            Array.Fill(v, -1);
            return v;
        }

        public int IndexOf(ulong label)
        {
            int mask = _keys.Length - 1;
            int slot = (int)(Mix(label) & (ulong)mask);
            while (_values[slot] >= 0)
            {
                if (_keys[slot] == label) return _values[slot];
                slot = (slot + 1) & mask;
            }
            if (Count == Labels.Length) Array.Resize(ref Labels, Count * 2);
            Labels[Count] = label;
            _keys[slot] = label;
            _values[slot] = Count;
            if (++Count * 2 > _keys.Length) Rehash();
            return Count - 1;
        }

        private void Rehash()
        {
            _keys = new ulong[_keys.Length * 2];
            _values = NewValues(_keys.Length);
            int mask = _keys.Length - 1;
            for (int i = 0; i < Count; i++)
            {
                int slot = (int)(Mix(Labels[i]) & (ulong)mask);
                while (_values[slot] >= 0) slot = (slot + 1) & mask;
                _keys[slot] = Labels[i];
                _values[slot] = i;
            }
        }
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        return x;
    }
}

/// <summary>Cold-path throws of <see cref="LabelBlock"/>'s decoder, kept out of its per-voxel loops.</summary>
internal static class LabelBlockThrow
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void LabelIndexBeyondTable(int subBlock, uint index, long tableSize)
        => throw new InvalidDataException($"sub-block {subBlock} refers to label {index} of a {tableSize}-label table");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void VoxelIndexBeyondLabels(int subBlock, uint index, int labels)
        => throw new InvalidDataException($"sub-block {subBlock} has a voxel index {index} beyond its {labels} labels");
}
