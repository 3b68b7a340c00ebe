package api

import "net/http"

// Held ruleset polls read the tenant's version from the store every
// rulesetPollInterval, which is what lets a change made through any
// replica reach them. A change made through this replica need not wait
// for the next read: it wakes the polls held here at once.

// rulesetWaiter is closed when the tenant's ruleset may have changed.
func (s *Server) rulesetWaiter(tenantID int64) <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	ch, ok := s.wake[tenantID]
	if !ok {
		ch = make(chan struct{})
		s.wake[tenantID] = ch
	}
	return ch
}

// wakeRulesets wakes the polls of the tenant held by this replica.
func (s *Server) wakeRulesets(tenantID int64) {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if ch, ok := s.wake[tenantID]; ok {
		close(ch)
		delete(s.wake, tenantID)
	}
}

// wakesNodes wraps the handler of a write to rules or IP lists: once it
// has succeeded, the tenant's held polls look at the version again.
func (s *Server) wakesNodes(h func(*http.Request, *principal) (any, error)) func(*http.Request, *principal) (any, error) {
	return func(r *http.Request, p *principal) (any, error) {
		v, err := h(r, p)
		if err == nil {
			s.wakeRulesets(p.tenantID)
		}
		return v, err
	}
}
