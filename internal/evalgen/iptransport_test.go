package evalgen

import (
	"encoding/binary"
	"testing"

	"github.com/trafficgpt/trafficgpt/internal/packet"
)

// TestIPTransportCount: a whole UDP datagram counts as IP with TCP/UDP; the
// same with an IP length past the captured bytes, an Ethernet frame of
// another EtherType, and a frame cut inside the UDP header do not.
func TestIPTransportCount(t *testing.T) {
	udp := func(ipLen int) []byte {
		b := make([]byte, 14+20+8+4)
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		b[14] = 0x45
		binary.BigEndian.PutUint16(b[16:], uint16(ipLen))
		b[22], b[23] = 64, 17
		copy(b[26:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		binary.BigEndian.PutUint16(b[34:], 5000)
		binary.BigEndian.PutUint16(b[36:], 53)
		binary.BigEndian.PutUint16(b[38:], uint16(ipLen-20))
		return b
	}
	other := udp(32)
	binary.BigEndian.PutUint16(other[12:], 0x88b5)
	for _, c := range []struct {
		name string
		data []byte
		want int
	}{
		{"whole", udp(32), 1},
		{"ip length past the bytes", udp(200), 0},
		{"other ethertype", other, 0},
		{"cut in the udp header", udp(32)[:38], 0},
	} {
		s := newSide()
		var l packet.Layers
		err := packet.Decode(packet.LinkEthernet, c.data, &l)
		st := &flowState{clean: true}
		s.addPacket(st, &l, c.data, 0, uint32(len(c.data)), true, true, err == nil)
		if s.val.PacketsIP != c.want || s.val.Packets != 1 {
			t.Errorf("%s: %d of %d packets counted as IP with TCP/UDP, want %d", c.name, s.val.PacketsIP, s.val.Packets, c.want)
		}
	}
}
