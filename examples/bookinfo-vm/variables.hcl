# Values that differ per site. The lab writes them into a vars file
# (meshx-lab up prints its path); elsewhere put them in lab.auto.vars or
# meshx.vars next to this file, or pass -var / -var-file.

variable "control_kubeconfig" {
  type        = string
  default     = null
  description = "Kubeconfig of the cluster running the Istio control plane. Unset (null), meshx reads KUBECONFIG (several files are merged), else ~/.kube/config, as kubectl does."
}

variable "vm_address" {
  type        = string
  description = "IPv4 address of the VM (the ECS instance) that runs details and mysqldb; meshx connects to it over SSH and registers it in the mesh."
  validation {
    condition     = can(cidrhost("${var.vm_address}/32", 0))
    error_message = "vm_address must be an IPv4 address, like \"192.168.0.10\"."
  }
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

variable "sidecar_package_url" {
  type        = string
  default     = null
  description = "URL of istio-sidecar.deb for the VM; leave unset when the sidecar is installed already."
}

variable "sidecar_package_sha256" {
  type        = string
  default     = null
  description = "SHA-256 of istio-sidecar.deb (sha256sum); required with sidecar_package_url."
}
