package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/palisadewaf/palisade/cloud/store"
)

// SQLite commits one transaction at a time, and a commit costs about the
// same for one batch as for twenty: the pages of the indexes that a batch
// touches are written to the WAL once per transaction, and the WAL is
// checkpointed every thousand pages. So the SQLite store funnels ingest
// through one goroutine that takes every batch waiting in the queue into
// one transaction (up to groupEvents events): under load a commit carries
// many batches, with no load it carries one and adds no delay.

// groupEvents bounds the events of one group commit, which bounds how long
// readers see a stale store and what a failed group redoes.
const groupEvents = 20000

var errClosed = errors.New("store closed")

type ingestReq struct {
	ctx  context.Context
	b    *store.IngestBatch
	done chan ingestResult
}

type ingestResult struct {
	counts store.IngestCounts
	err    error
}

func (s *Store) startGroupCommit() {
	s.ingestQ = make(chan *ingestReq)
	s.closing = make(chan struct{})
	s.writerDone = make(chan struct{})
	go s.groupCommit()
}

// stopGroupCommit stops the writer; Close may be called more than once.
func (s *Store) stopGroupCommit() {
	if s.closing != nil {
		s.closeOnce.Do(func() { close(s.closing) })
		<-s.writerDone
	}
}

func (s *Store) groupCommit() {
	defer close(s.writerDone)
	for {
		var group []*ingestReq
		select {
		case r := <-s.ingestQ:
			group = append(group, r)
		case <-s.closing:
			return
		}
		events := len(group[0].b.Events)
	fill:
		for events < groupEvents {
			select {
			case r := <-s.ingestQ:
				group = append(group, r)
				events += len(r.b.Events)
			default:
				break fill
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup stores a group in one transaction. When that fails, each
// batch is tried alone, so that one bad batch fails only itself.
func (s *Store) commitGroup(group []*ingestReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- ingestResult{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	results := make([]store.IngestCounts, len(live))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmts := txStmts{}
		for i, r := range live {
			c, err := s.ingestTx(ctx, tx, stmts, r.b)
			if err != nil {
				return err
			}
			results[i] = c
		}
		return nil
	})
	if err == nil {
		for i, r := range live {
			r.done <- ingestResult{counts: results[i]}
		}
		return
	}
	if len(live) == 1 {
		live[0].done <- ingestResult{err: err}
		return
	}
	for _, r := range live {
		var c store.IngestCounts
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			c, err = s.ingestTx(ctx, tx, txStmts{}, r.b)
			return err
		})
		r.done <- ingestResult{counts: c, err: err}
	}
}
