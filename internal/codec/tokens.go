package codec

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Token is one symbol of the grammar: 0..255 are byte values, the rest are
// the special tokens below. VocabSize bounds every token.
type Token = uint16

// Special tokens. Their ids are part of the codec version: never renumber.
const (
	PAD       Token = 256 // padding (never inside a flow)
	FLOW      Token = 257 // flow start
	END       Token = 258 // flow end: the flow is complete
	PKTC2S    Token = 259 // packet start, client -> server
	PKTS2C    Token = 260 // packet start, server -> client
	CLS       Token = 261 // classification position (appended by datasets)
	TRUNC     Token = 262 // captured bytes < original length; a number (orig - captured) follows
	RAW       Token = 263 // flag: every byte of the packet is present, nothing derived
	FADDR     Token = 264 // flag: addresses and ports are present (they differ from the flow's)
	FLEN      Token = 265 // flag: length fields are present (they differ from the derived values)
	FCSUM     Token = 266 // flag: checksums are present (they differ from the computed values)
	MASK      Token = 267 // a masked byte (views only); decodes as 0x00
	LinkEth   Token = 268 // link type 1 (Ethernet)
	LinkRaw   Token = 269 // link type 101 (raw IP)
	LinkSLL   Token = 270 // link type 113 (Linux cooked)
	LinkSLL2  Token = 271 // link type 276 (Linux cooked v2)
	LinkNull  Token = 272 // link type 0 (BSD loopback)
	LinkLoop  Token = 273 // link type 108 (OpenBSD loop)
	LinkOther Token = 274 // any other link type: 4 byte tokens follow (big-endian 32-bit value)
	ResMicro  Token = 275 // timestamps in microseconds
	ResNano   Token = 276 // timestamps in nanoseconds
	ResOther  Token = 277 // any other resolution: 1 byte token follows (pcapng if_tsresol)
	NEG       Token = 278 // the time delta that follows is negative
	CUT       Token = 279 // flow end in a view: the flow goes on but the view stops here
	Mag0      Token = 280 // Mag0 + k: a number of bit length k (0..64) follows, see AppendNumber
	MagMax    Token = Mag0 + 64
	Label0    Token = 384 // Label0 + i: class label i (0 <= i < MaxLabels), right after FLOW
	VocabSize       = 512
)

// MaxLabels is the number of label tokens.
const MaxLabels = VocabSize - 1 - int(Label0)

// IsByte reports whether t stands for a byte value.
func IsByte(t Token) bool { return t < 256 }

// IsMag reports whether t is a magnitude token, and its bit length.
func IsMag(t Token) (int, bool) {
	if t >= Mag0 && t <= MagMax {
		return int(t - Mag0), true
	}
	return 0, false
}

// numberBytes is the count of byte tokens after a magnitude token of bit
// length k: the top bit is implied, the remaining k-1 bits are spelled out.
func numberBytes(k int) int {
	if k <= 1 {
		return 0
	}
	return (k - 1 + 7) / 8
}

// AppendNumber appends n as a magnitude token (its bit length k) followed by
// the fewest bytes that hold its low k-1 bits, big-endian: 0 -> [Mag0];
// 1 -> [Mag1]; 5 (101b) -> [Mag3, 0x01]; 1000 -> [Mag10, 0x01, 0xE8].
func AppendNumber(dst []Token, n uint64) []Token {
	k := bits.Len64(n)
	dst = append(dst, Mag0+Token(k))
	for i := numberBytes(k) - 1; i >= 0; i-- {
		dst = append(dst, Token(byte(n>>(8*uint(i)))))
	}
	return dst
}

// ReadNumber parses a number at toks[0:]; it returns the value and the count
// of tokens used.
func ReadNumber(toks []Token) (uint64, int, error) {
	if len(toks) == 0 {
		return 0, 0, fmt.Errorf("%w: number expected, got end of tokens", ErrGrammar)
	}
	k, ok := IsMag(toks[0])
	if !ok {
		return 0, 0, fmt.Errorf("%w: magnitude token expected, got %s", ErrGrammar, TokenName(toks[0]))
	}
	nb := numberBytes(k)
	if len(toks) < 1+nb {
		return 0, 0, fmt.Errorf("%w: number of bit length %d needs %d bytes, got %d", ErrGrammar, k, nb, len(toks)-1)
	}
	var n uint64
	for i := 0; i < nb; i++ {
		b := toks[1+i]
		if !IsByte(b) {
			return 0, 0, fmt.Errorf("%w: number byte expected, got %s", ErrGrammar, TokenName(b))
		}
		n = n<<8 | uint64(b)
	}
	if k > 0 {
		if k < 64 {
			n &= 1<<uint(k-1) - 1
		}
		n |= 1 << uint(k-1)
	}
	return n, 1 + nb, nil
}

var specialNames = map[Token]string{
	PAD: "<pad>", FLOW: "<flow>", END: "<end>", PKTC2S: "<c2s>", PKTS2C: "<s2c>", CLS: "<cls>",
	TRUNC: "<trunc>", RAW: "<raw>", FADDR: "<f:addr>", FLEN: "<f:len>", FCSUM: "<f:csum>", MASK: "<mask>",
	LinkEth: "<link:eth>", LinkRaw: "<link:raw>", LinkSLL: "<link:sll>", LinkSLL2: "<link:sll2>",
	LinkNull: "<link:null>", LinkLoop: "<link:loop>", LinkOther: "<link:other>",
	ResMicro: "<res:us>", ResNano: "<res:ns>", ResOther: "<res:other>", NEG: "<neg>", CUT: "<cut>",
}

// TokenName is a readable name: "0x1f" for bytes, "<flow>" for specials.
func TokenName(t Token) string {
	switch {
	case IsByte(t):
		return fmt.Sprintf("%02x", t)
	case t >= Mag0 && t <= MagMax:
		return "<m" + strconv.Itoa(int(t-Mag0)) + ">"
	case t >= Label0 && int(t) < int(Label0)+MaxLabels:
		return "<label:" + strconv.Itoa(int(t-Label0)) + ">"
	}
	if n, ok := specialNames[t]; ok {
		return n
	}
	return fmt.Sprintf("<?%d>", t)
}

// Format renders a token sequence readably: one line per packet, byte runs
// as hex, numbers decoded ("<m10>=1000").
func Format(toks []Token) string {
	var b strings.Builder
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == PKTC2S || t == PKTS2C || t == END || t == CUT || t == CLS:
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(TokenName(t))
		case IsByte(t):
			if i > 0 && IsByte(toks[i-1]) {
				fmt.Fprintf(&b, "%02x", t)
			} else {
				fmt.Fprintf(&b, " %02x", t)
			}
		default:
			if _, ok := IsMag(t); ok {
				if n, used, err := ReadNumber(toks[i:]); err == nil {
					fmt.Fprintf(&b, " %s=%d", TokenName(t), n)
					i += used - 1
					continue
				}
			}
			b.WriteByte(' ')
			b.WriteString(TokenName(t))
		}
	}
	return b.String()
}
