package mask

import (
	"context"
	"fmt"
	"log/slog"
)

// Known returns the Secrets of values the process itself holds (the node's
// cloud credential, keys), so that they are masked wherever they show up.
func (m *Masker) Known(values ...string) *Secrets {
	s := &Secrets{m: m, sensitive: map[string]bool{}}
	for _, v := range values {
		s.add(v)
	}
	return s
}

// Handler is a slog.Handler that masks records before the next handler
// sees them: the value of an attribute whose key is a sensitive name (or
// that sits in a group with one) becomes "***"; every string, error,
// Stringer and other value is masked like an event text (value detectors,
// inline "name=value" pairs, the process's known secrets); numbers,
// booleans, times and durations pass as they are. The message is masked
// too. Limit-export mode does not apply to logs, which stay on the node.
type Handler struct {
	next    slog.Handler
	secrets *Secrets
	// hidden is set when the handler is inside a group with a sensitive
	// name: every value under it is masked.
	hidden bool
}

// NewHandler returns a masking handler in front of next. known are values
// to mask wherever they appear (see Masker.Known).
func NewHandler(next slog.Handler, m *Masker, known ...string) *Handler {
	// Logs are masked by name and shape; limit-export is about what
	// leaves the node, and hiding every word of every log line would make
	// the logs useless.
	lm := &Masker{cfg: m.cfg, names: m.names}
	lm.cfg.LimitExport = false
	return &Handler{next: next, secrets: lm.Known(known...)}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	msg, _ := h.secrets.Text(r.Message)
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a, h.hidden))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.attr(a, h.hidden)
	}
	return &Handler{next: h.next.WithAttrs(masked), secrets: h.secrets, hidden: h.hidden}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{
		next:    h.next.WithGroup(name),
		secrets: h.secrets,
		hidden:  h.hidden || h.secrets.m.names.sensitive(name),
	}
}

func (h *Handler) attr(a slog.Attr, hidden bool) slog.Attr {
	hidden = hidden || h.secrets.m.names.sensitive(a.Key)
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		group := v.Group()
		masked := make([]slog.Attr, len(group))
		for i, g := range group {
			masked[i] = h.attr(g, hidden)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(masked...)}
	}
	if hidden {
		return slog.String(a.Key, Redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		s, _ := h.secrets.Text(v.String())
		return slog.String(a.Key, s)
	case slog.KindAny:
		var text string
		switch x := v.Any().(type) {
		case error:
			text = x.Error()
		case fmt.Stringer:
			text = x.String()
		case []byte:
			text = string(x)
		default:
			// Structs and maps would be printed field by field by the
			// next handler: print them here, where they can be masked.
			text = fmt.Sprintf("%+v", x)
		}
		s, _ := h.secrets.Text(text)
		return slog.String(a.Key, s)
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
