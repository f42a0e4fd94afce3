# tflint over the synthesized stacks (cdktf.out/stacks/*/cdk.tf.json): the AWS ruleset finds what
# `terraform validate` cannot, such as invalid instance types, names or enum values, before an apply.
# Run by tests/test_tflint.py; CI installs tflint (terraform-linters/setup-tflint) and this plugin.
config {
  call_module_type = "none"
}

plugin "aws" {
  enabled = true
  version = "0.48.0"
  source  = "github.com/terraform-linters/tflint-ruleset-aws"
}
