package detect

// NewWithoutPrefilter returns an engine that runs every detector on every
// value, the reference the prefilter is checked and measured against.
func NewWithoutPrefilter(opts Options) *Engine {
	e := New(opts)
	e.noPrefilter = true
	return e
}
