// Command etcd is the etcd server that k8s.io/kubernetes v1.35 is tested with,
// built from go.etcd.io/etcd/server/v3 so that no prebuilt binary is needed.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
