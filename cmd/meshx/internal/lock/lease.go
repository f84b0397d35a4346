package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Info describes a holder; it is stored on the Lease as JSON.
type Info struct {
	ID        string    `json:"id"`
	Who       string    `json:"who"`
	Operation string    `json:"operation"`
	RunURL    string    `json:"run_url,omitempty"`
	Created   time.Time `json:"created"`
}

const infoAnnotation = "meshx.dev/lock-info"

// Options configure a Lock.
type Options struct {
	Namespace   string
	Environment string
	Operation   string
	// Duration is how long the Lease stays valid without renewal (default 30s).
	Duration time.Duration
	// RunURL is the address of the CI run taking the lock, if any, which
	// the holder record shows to whoever waits for it.
	RunURL string
	// Now is the clock (tests).
	Now func() time.Time
}

// Lock is a held or wanted Lease.
type Lock struct {
	client kubernetes.Interface
	opts   Options
	info   Info

	mu      sync.Mutex
	stop    chan struct{}
	stopped chan struct{}
	lost    error
	// gone is closed when the lock is lost; Lost says why.
	gone chan struct{}
}

// NamespaceMissingError says the namespace that keeps the Lease does not
// exist. The lock never creates it: that would change the cluster before
// anyone approved a plan.
type NamespaceMissingError struct{ Namespace string }

func (e *NamespaceMissingError) Error() string {
	return fmt.Sprintf("lock: namespace %s does not exist", e.Namespace)
}

// HeldError says another holder has the Lease.
type HeldError struct{ Holder Info }

func (e *HeldError) Error() string {
	h := e.Holder
	s := fmt.Sprintf("the environment is locked by %s since %s (operation %s, lock ID %s)", h.Who, h.Created.UTC().Format(time.RFC3339), h.Operation, h.ID)
	if h.RunURL != "" {
		s += ", run " + h.RunURL
	}
	return s
}

// Name is the Lease's name for an environment.
func Name(environment string) string { return "meshx-lock-" + environment }

// New prepares a lock; Acquire takes it.
func New(client kubernetes.Interface, o Options) *Lock {
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Lock{client: client, opts: o, gone: make(chan struct{}), info: Info{
		ID: newID(), Who: whoAmI(), Operation: o.Operation, RunURL: o.RunURL, Created: o.Now().UTC().Truncate(time.Second),
	}}
}

// Acquire takes the Lease, retrying until timeout while another live holder
// has it; then it returns a *HeldError. A zero timeout tries once. Once held,
// the Lease is renewed in the background until Release.
func (l *Lock) Acquire(ctx context.Context, timeout time.Duration, waiting func(Info)) error {
	deadline := l.opts.Now().Add(timeout)
	announced := false
	for {
		err := l.tryAcquire(ctx)
		var held *HeldError
		if !errors.As(err, &held) {
			if err == nil {
				l.startRenewing()
			}
			return err
		}
		if !l.opts.Now().Before(deadline) {
			return err
		}
		if waiting != nil && !announced {
			waiting(held.Holder)
			announced = true
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

func (l *Lock) tryAcquire(ctx context.Context) error {
	leases := l.client.CoordinationV1().Leases(l.opts.Namespace)
	name := Name(l.opts.Environment)
	now := metav1.NewMicroTime(l.opts.Now())
	dur := int32(l.opts.Duration / time.Second)
	infoJSON, _ := json.Marshal(l.info)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: l.opts.Namespace,
				Labels:      map[string]string{"app.kubernetes.io/managed-by": "meshx", "meshx.dev/environment": l.opts.Environment},
				Annotations: map[string]string{infoAnnotation: string(infoJSON)}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &l.info.ID, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{FieldManager: "meshx"})
		if apierrors.IsAlreadyExists(err) {
			return l.tryAcquire(ctx)
		}
		if apierrors.IsNotFound(err) {
			return &NamespaceMissingError{Namespace: l.opts.Namespace}
		}
		if err != nil {
			return fmt.Errorf("lock: create lease %s/%s: %w", l.opts.Namespace, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock: read lease %s/%s: %w", l.opts.Namespace, name, err)
	}
	if holder := cur.Spec.HolderIdentity; holder != nil && *holder != "" && *holder != l.info.ID && !expired(cur, l.opts.Now()) {
		return &HeldError{Holder: holderInfo(cur)}
	}
	cur.Spec.HolderIdentity = &l.info.ID
	cur.Spec.LeaseDurationSeconds = &dur
	cur.Spec.AcquireTime = &now
	cur.Spec.RenewTime = &now
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[infoAnnotation] = string(infoJSON)
	_, err = leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "meshx"})
	if apierrors.IsConflict(err) {
		return l.tryAcquire(ctx) // someone else moved first: look again
	}
	if err != nil {
		return fmt.Errorf("lock: take lease %s/%s: %w", l.opts.Namespace, name, err)
	}
	return nil
}

func expired(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}

func holderInfo(l *coordinationv1.Lease) Info {
	var i Info
	if err := json.Unmarshal([]byte(l.Annotations[infoAnnotation]), &i); err != nil || i.ID == "" {
		if l.Spec.HolderIdentity != nil {
			i.ID = *l.Spec.HolderIdentity
		}
		i.Who = "unknown"
	}
	return i
}

// startRenewing renews the Lease every third of its duration until Release
// or until the lock is lost: the Lease was deleted or taken by another
// holder, or renewing failed for so long that it expires before the next
// try (then another run may take it). A single failed renewal (a slow API
// server) is retried at the next tick.
func (l *Lock) startRenewing() {
	l.stop, l.stopped = make(chan struct{}), make(chan struct{})
	every := l.opts.Duration / 3
	go func() {
		defer close(l.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		renewed := l.opts.Now()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), every)
				err := l.renew(ctx)
				cancel()
				if err == nil {
					renewed = l.opts.Now()
					continue
				}
				var taken *lostError
				if errors.As(err, &taken) {
					l.lose(err)
					return
				}
				if expires := renewed.Add(l.opts.Duration); !l.opts.Now().Add(every).Before(expires) {
					l.lose(fmt.Errorf("lock: not renewed since %s, so the Lease expires at %s: %w",
						renewed.UTC().Format(time.RFC3339), expires.UTC().Format(time.RFC3339), err))
					return
				}
			}
		}
	}()
}

// lostError says the Lease is no longer this lock's.
type lostError struct{ why string }

func (e *lostError) Error() string { return "lock: " + e.why }

func (l *Lock) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = fmt.Errorf("lost the lock (Lease %s/%s): %w", l.opts.Namespace, Name(l.opts.Environment), err)
		close(l.gone)
	}
}

func (l *Lock) renew(ctx context.Context) error {
	leases := l.client.CoordinationV1().Leases(l.opts.Namespace)
	cur, err := leases.Get(ctx, Name(l.opts.Environment), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &lostError{"someone deleted the Lease"}
	}
	if err != nil {
		return fmt.Errorf("lock: renew: %w", err)
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != l.info.ID {
		h := holderInfo(cur)
		return &lostError{fmt.Sprintf("taken by %s (lock ID %s)", h.Who, h.ID)}
	}
	now := metav1.NewMicroTime(l.opts.Now())
	cur.Spec.RenewTime = &now
	_, err = leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "meshx"})
	if err != nil {
		// A conflict too: the next tick reads who holds it now.
		return fmt.Errorf("lock: renew: %w", err)
	}
	return nil
}

// Lost reports why the lock was lost, or nil while it is held.
func (l *Lock) Lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Gone is closed when the lock is lost; Lost then says why. Whoever acts
// under the lock should start nothing new after that: another run may
// already hold it.
func (l *Lock) Gone() <-chan struct{} { return l.gone }

// Release stops renewing and deletes the Lease if this lock still holds
// it; a lost lock is left alone.
func (l *Lock) Release(ctx context.Context) error {
	if l.stop != nil {
		close(l.stop)
		<-l.stopped
		l.stop = nil
	}
	if l.Lost() != nil {
		return nil // not ours any more, or expired: nothing to free
	}
	return release(ctx, l.client, l.opts.Namespace, l.opts.Environment, l.info.ID)
}

// ForceUnlock frees the Lease if its holder has the given ID, whoever that
// is. It returns an error naming the actual holder otherwise.
func ForceUnlock(ctx context.Context, client kubernetes.Interface, namespace, environment, id string) error {
	return release(ctx, client, namespace, environment, id)
}

func release(ctx context.Context, client kubernetes.Interface, namespace, environment, id string) error {
	leases := client.CoordinationV1().Leases(namespace)
	cur, err := leases.Get(ctx, Name(environment), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("lock: environment %s is not locked", environment)
	}
	if err != nil {
		return fmt.Errorf("lock: read lease: %w", err)
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity == "" {
		return fmt.Errorf("lock: environment %s is not locked", environment)
	}
	if *cur.Spec.HolderIdentity != id {
		return fmt.Errorf("lock: held by ID %s (%s), not %s", *cur.Spec.HolderIdentity, holderInfo(cur).Who, id)
	}
	// Deleted, not emptied: a run that changed nothing (a plan answered
	// "no") leaves the cluster as it found it. The preconditions make sure
	// it is still the Lease just read.
	err = leases.Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID, ResourceVersion: &cur.ResourceVersion}})
	if apierrors.IsConflict(err) {
		return fmt.Errorf("lock: release: the Lease changed while releasing it; run meshx force-unlock if it is still held by %s", id)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("lock: release: %w", err)
	}
	return nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
