# Values that differ per site. The lab writes them into a vars file
# (meshx-lab up prints its path); elsewhere put them in lab.auto.vars or
# meshx.vars next to this file, or pass -var / -var-file.

variable "control_kubeconfig" {
  type        = string
  default     = null
  description = "Kubeconfig of the GKE cluster running Istio 0.2 (gcloud container clusters get-credentials). Unset (null), meshx reads KUBECONFIG, else ~/.kube/config, as kubectl does."
}

variable "control_pod_cidr" {
  type        = string
  default     = "10.56.0.0/14"
  description = "Pod CIDR of the cluster (gcloud container clusters describe CLUSTER --format 'value(clusterIpv4Cidr)')."
}

variable "vm_address" {
  type        = string
  description = "Internal IPv4 address of istio-vm (hostname --ip-address on the VM); meshx connects to it over SSH and registers it in the mesh."
  validation {
    condition     = can(cidrhost("${var.vm_address}/32", 0))
    error_message = "vm_address must be an IPv4 address, like \"10.150.0.5\"."
  }
}

variable "ssh_private_key" {
  type        = string
  default     = "~/.ssh/google_compute_engine"
  description = "Private key meshx logs in to the VM with, as root (gcloud compute ssh's key)."
}

variable "known_hosts" {
  type        = string
  default     = "~/.ssh/google_compute_known_hosts"
  description = "known_hosts file holding the VM's host key (gcloud compute ssh records it there)."
}

variable "legacy_sidecar_packages" {
  type        = map(map(string))
  default     = {}
  description = "url and sha256 of istio-agent.deb, istio-auth-node-agent.deb and istio-proxy.deb (setupIstioVM.sh's PILOT_DEBIAN_URL, AUTH_DEBIAN_URL, PROXY_DEBIAN_URL), by package name; empty when they are installed already."
}
