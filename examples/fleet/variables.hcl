# Values that differ per site. The lab writes them into a vars file
# (meshx-lab up prints its path); elsewhere put them in fleet.auto.vars
# next to this file, or pass -var / -var-file.

variable "vm_addresses" {
  type        = map(string)
  description = "The fleet: VM name → IPv4 address meshx connects to over SSH and registers in the mesh. Each key names an instance, vm.app[\"<name>\"]."
  validation {
    condition     = length([for a in values(var.vm_addresses) : a if !can(cidrhost("${a}/32", 0))]) == 0
    error_message = "Every value of vm_addresses must be an IPv4 address, like \"192.168.0.10\"."
  }
}

variable "control_kubeconfig" {
  type        = string
  default     = null
  description = "Kubeconfig of the cluster running the Istio control plane. Unset (null), meshx reads KUBECONFIG, else ~/.kube/config, as kubectl does."
}

variable "ssh_private_key" {
  type        = string
  default     = "~/.ssh/id_rsa"
  description = "Private key meshx logs in to the VMs with, as root."
}

variable "known_hosts" {
  type        = string
  default     = "~/.ssh/known_hosts"
  description = "known_hosts file holding the VMs' host keys."
}

variable "sidecar_package_url" {
  type        = string
  default     = null
  description = "URL of istio-sidecar.deb for the VMs; leave unset when the sidecar is installed already."
}

variable "sidecar_package_sha256" {
  type        = string
  default     = null
  description = "SHA-256 of istio-sidecar.deb (sha256sum); required with sidecar_package_url."
}
