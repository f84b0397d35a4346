# Values that differ per site. The lab writes them into a vars file
# (meshx-lab up prints its path); elsewhere put them in lab.auto.vars or
# meshx.vars next to this file, or pass -var / -var-file.

variable "control_kubeconfig" {
  type        = string
  default     = null
  description = "Kubeconfig of the cluster running istiod. Unset (null), meshx reads KUBECONFIG, else ~/.kube/config, as kubectl does."
}

variable "istiod_debug_url" {
  type        = string
  default     = null
  description = "istiod's monitoring port as meshx reaches it, like http://127.0.0.1:15014 behind kubectl -n istio-system port-forward deploy/istiod 15014. Unset, meshx verify skips the istiod endpoints checks."
}

variable "load_balancer" {
  type        = string
  default     = "none"
  description = "Cloud of the control cluster, for the istiod load balancer's internal annotations: gcp, alibaba, aws, azure or none."
}

variable "istiod_exposure" {
  type        = string
  default     = "ilb"
  description = "How the VM reaches istiod: \"ilb\" (meshx creates istiod-ilb) or \"eastwest\" (the existing east-west gateway istio-eastwestgateway, with expose-istiod.yaml's Gateway and VirtualService)."
}

variable "vm_address" {
  type        = string
  description = "IPv4 address of the VM that runs details and mysqldb; meshx connects to it over SSH and registers it in the mesh."
}

variable "auto_register" {
  type        = bool
  default     = false
  description = "Let istiod create the VM's WorkloadEntry when its sidecar connects, instead of meshx."
}

variable "ssh_private_key" {
  type        = string
  default     = "~/.ssh/id_rsa"
  description = "Private key meshx logs in to the VM with, as root."
}

variable "known_hosts" {
  type        = string
  default     = "~/.ssh/known_hosts"
  description = "known_hosts file holding the VM's host key."
}

variable "istio_sidecar_deb" {
  type        = string
  default     = null
  description = "istio-sidecar.deb of the mesh's Istio version: an https:// URL (with istio_sidecar_deb_sha256) or a local path meshx uploads. The lab writes the path of its build. Unset, meshx installs no sidecar."
}

variable "istio_sidecar_deb_sha256" {
  type        = string
  default     = null
  description = "SHA-256 of istio-sidecar.deb (sha256sum); required with a URL."
}
