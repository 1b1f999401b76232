package codec

// Kind classifies a token position for per-kind loss reports.
type Kind = uint8

const (
	KindPad       Kind = iota // <pad> and anything after the flow
	KindStructure             // flow/packet structure: <flow>, link, resolution, <c2s>/<s2c>, flags, <trunc> and its number, <end>, <cut>, <cls>, labels
	KindTime                  // inter-arrival time: <neg> and the number
	KindHeader                // packet bytes up to the end of the transport header
	KindPayload               // packet bytes after it
	NumKinds
)

var kindNames = [NumKinds]string{"pad", "structure", "time", "header", "payload"}

// KindName names kind k ("pad", "structure", "time", "header", "payload";
// "" for k >= NumKinds).
func KindName(k Kind) string {
	if k >= NumKinds {
		return ""
	}
	return kindNames[k]
}

// TokenKinds writes the kind of every token of one flow's tokens (as a
// dataset stores them: <flow> ... <end>/<cut> [<cls>] [<pad>...]) into
// kinds[:len(toks)]. Tokens it cannot parse count as payload.
func TokenKinds(toks []Token, kinds []Kind) {
	kinds = kinds[:len(toks)]
	for i := range kinds {
		kinds[i] = KindPayload
	}
	h, i, err := ParseHeader(toks)
	if err != nil {
		for j, t := range toks {
			if t == PAD {
				kinds[j] = KindPad
			} else if t >= 256 {
				kinds[j] = KindStructure
			}
		}
		return
	}
	for j := 0; j < i; j++ {
		kinds[j] = KindStructure
	}
	var d FlowDecoder
	d.Reset(h, 0)
	for i < len(toks) {
		t := toks[i]
		if t == END || t == CUT || t == CLS || t == PAD || t == FLOW {
			for ; i < len(toks); i++ {
				if toks[i] == PAD {
					kinds[i] = KindPad
				} else {
					kinds[i] = KindStructure
				}
			}
			return
		}
		j := i + 1
		for j < len(toks) && !isStructural(toks[j]) {
			j++
		}
		markPacket(&d, toks[i:j], kinds[i:j])
		i = j
	}
}

// markPacket sets the kinds of one packet's tokens.
func markPacket(d *FlowDecoder, toks []Token, kinds []Kind) {
	kinds[0] = KindStructure
	i := 1
	for i < len(toks) && (toks[i] == RAW || toks[i] == FADDR || toks[i] == FLEN || toks[i] == FCSUM) {
		kinds[i] = KindStructure
		i++
	}
	start := i
	if i < len(toks) && toks[i] == NEG {
		i++
	}
	if _, n, err := ReadNumber(toks[i:]); err == nil {
		i += n
	}
	for k := start; k < i; k++ {
		kinds[k] = KindTime
	}
	if i < len(toks) && toks[i] == TRUNC {
		k := i
		i++
		if i < len(toks) && toks[i] == NEG {
			i++
		}
		if _, n, err := ReadNumber(toks[i:]); err == nil {
			i += n
		}
		for ; k < i; k++ {
			kinds[k] = KindStructure
		}
	}
	bodyStart := i
	hdr := len(toks) - bodyStart // a packet that does not decode counts as header
	if _, err := d.decode(toks); err == nil {
		if d.raw {
			hdr = len(toks) - bodyStart
		} else {
			end := d.lay.hdrEnd
			for s := 0; s < d.lay.nspans; s++ {
				if sp := &d.lay.spans[s]; sp.omit && sp.off < d.lay.hdrEnd {
					end -= sp.n
				}
			}
			hdr = max(0, min(end, len(toks)-bodyStart))
		}
		d.commit()
	}
	for k := bodyStart; k < len(toks); k++ {
		if k-bodyStart < hdr {
			kinds[k] = KindHeader
		} else {
			kinds[k] = KindPayload
		}
	}
}
