package lock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newClient is a fake API server that, like a real one, refuses to create
// an object in a namespace that does not exist.
func newClient(t *testing.T, namespaces ...string) *fake.Clientset {
	t.Helper()
	var objs []runtime.Object
	for _, n := range namespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.GetNamespace()
		if _, err := cs.Tracker().Get(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "", ns); err != nil {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
		}
		return false, nil, nil
	})
	return cs
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestAcquireNeverCreatesTheNamespace: the lock is taken before anyone
// approves a plan, so it must not change the cluster; a missing namespace
// is an error of its own.
// TestReleaseLeavesNothing: a run that took and released the lock leaves
// no Lease behind, so an apply answered "no" changed nothing.
func TestReleaseLeavesNothing(t *testing.T) {
	cs := newClient(t, "istio-system")
	l := New(cs, Options{Namespace: "istio-system", Environment: "prod", Operation: "apply"})
	if err := l.Acquire(ctx(t), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoordinationV1().Leases("istio-system").Get(ctx(t), Name("prod"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the released Lease is still there (get: %v)", err)
	}
}

func TestAcquireNeverCreatesTheNamespace(t *testing.T) {
	cs := newClient(t)
	l := New(cs, Options{Namespace: "istio-system", Environment: "prod", Operation: "apply"})
	err := l.Acquire(ctx(t), 0, nil)
	var missing *NamespaceMissingError
	if !errors.As(err, &missing) || missing.Namespace != "istio-system" {
		t.Fatalf("Acquire in a missing namespace: got %v, want a *NamespaceMissingError for istio-system", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx(t), "istio-system", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Acquire created the namespace (get: %v)", err)
	}
}

// TestLost: a held lock whose Lease is deleted or taken by another holder
// is lost within one renewal period; Gone is closed, Lost says what
// happened, and Release leaves the Lease alone.
func TestLost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, cs *fake.Clientset)
		want    string
	}{
		{"deleted", func(t *testing.T, cs *fake.Clientset) {
			if err := cs.CoordinationV1().Leases("istio-system").Delete(ctx(t), Name("prod"), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "someone deleted the Lease"},
		{"taken", func(t *testing.T, cs *fake.Clientset) {
			l, err := cs.CoordinationV1().Leases("istio-system").Get(ctx(t), Name("prod"), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			other := "0123456789abcdef"
			l.Spec.HolderIdentity = &other
			l.Annotations[infoAnnotation] = `{"id":"0123456789abcdef","who":"eve@elsewhere"}`
			if _, err := cs.CoordinationV1().Leases("istio-system").Update(ctx(t), l, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "taken by eve@elsewhere (lock ID 0123456789abcdef)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := newClient(t, "istio-system")
			l := New(cs, Options{Namespace: "istio-system", Environment: "prod", Operation: "apply", Duration: 3 * time.Second})
			if err := l.Acquire(ctx(t), 0, nil); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Release(context.Background()) })
			if err := l.Lost(); err != nil {
				t.Fatalf("Lost right after Acquire: %v", err)
			}
			tc.breakIt(t, cs)
			select {
			case <-l.Gone():
			case <-ctx(t).Done():
				t.Fatal("Gone was not closed")
			}
			err := l.Lost()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "lost the lock (Lease istio-system/meshx-lock-prod)") {
				t.Fatalf("Lost() = %v, want it to say %q", err, tc.want)
			}
			if err := l.Release(ctx(t)); err != nil {
				t.Errorf("Release of a lost lock: %v", err)
			}
		})
	}
}
