package pcap

import "errors"

// Sentinel errors; every error returned by this package wraps one of them or
// an I/O error.
var (
	ErrFormat    = errors.New("pcap: bad format")
	ErrTruncated = errors.New("pcap: truncated")
	ErrTooLarge  = errors.New("pcap: record too large")
)

// MaxRecordLen bounds a record's or block's length, so a corrupt length field
// cannot make the reader allocate gigabytes.
const MaxRecordLen = 256 << 20

// Format is the container format of a capture.
type Format uint8

const (
	FormatPcap   Format = 1
	FormatPcapng Format = 2
)

// Kind says what a Record is.
type Kind uint8

const (
	KindHeader  Kind = 1 // classic pcap file header (24 bytes)
	KindPacket  Kind = 2 // pcap record, pcapng EPB, SPB or obsolete PB
	KindBlock   Kind = 3 // any other pcapng block (SHB, IDB, NRB, ISB, custom, unknown)
	KindTrailer Kind = 4 // bytes after the last complete record (ReaderOptions.KeepTrailing)
)

// BlockType values of pcapng blocks that the reader interprets.
const (
	BlockSHB uint32 = 0x0A0D0D0A
	BlockIDB uint32 = 0x00000001
	BlockPB  uint32 = 0x00000002 // obsolete packet block
	BlockSPB uint32 = 0x00000003
	BlockNRB uint32 = 0x00000004
	BlockISB uint32 = 0x00000005
	BlockEPB uint32 = 0x00000006
)

// Resolution is a timestamp resolution in pcapng's if_tsresol encoding: the
// high bit clear means 10^-n seconds per tick, set means 2^-n (n = low 7 bits).
// Classic pcap uses 6 (microseconds) or 9 (nanoseconds).
type Resolution uint8

const (
	Micro Resolution = 6
	Nano  Resolution = 9
)

// Record is one record or block of a capture. Raw and Data are only valid
// until the next call to Reader.Next.
type Record struct {
	Kind   Kind
	Offset int64 // byte offset of Raw in the (decompressed) input
	Index  int   // 0-based number of this record in the file, all kinds counted
	Raw    []byte

	// BlockType is the pcapng block type (0 for classic pcap).
	BlockType uint32

	// Packet records only.
	Data       []byte // captured bytes, Raw[DataOff:DataOff+len(Data)]
	DataOff    int
	Section    int    // pcapng section number (0-based; 0 for classic pcap)
	Interface  uint32 // pcapng interface id within its section (0 for classic pcap)
	LinkType   uint32 // link type; classic pcap: the whole 32-bit header field
	Timestamp  uint64 // ticks of Resolution since the epoch (pcapng: raw, without if_tsoffset)
	Resolution Resolution
	TimeOffset int64  // pcapng if_tsoffset in seconds, to add to Timestamp for absolute time
	HasTime    bool   // false for SPB, which carries no timestamp
	OrigLen    uint32 // original length on the wire
}

// Framing is what AppendPacketRecord needs to know about the file a packet
// record goes into.
type Framing struct {
	Format    Format
	BigEndian bool
	// Classic pcap: Resolution is Micro or Nano (the file's magic).
	// pcapng: BlockType is BlockEPB, BlockSPB or BlockPB; Resolution and
	// SnapLen (0 = unlimited) are the interface's. AppendPacketRecord uses
	// neither for pcapng; they tell a reader's caller when they change.
	Resolution Resolution
	BlockType  uint32
	SnapLen    uint32
}
