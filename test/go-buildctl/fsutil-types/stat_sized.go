package types

// MarshalToSizedBuffer is the newer gogo generator's method, which BuildKit v0.8's gateway.pb.go
// calls; Debian's fsutil (2020-03) was generated before it existed. It writes the message at the
// end of dAtA, as the generated method does, through this generator's MarshalTo.
func (m *Stat) MarshalToSizedBuffer(dAtA []byte) (int, error) {
	size := m.Size()
	return m.MarshalTo(dAtA[len(dAtA)-size:])
}
