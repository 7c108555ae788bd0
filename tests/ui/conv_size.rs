// A convolution whose output size parameter is not what its kernel, stride
// and padding give: 40 positions, kernel 5, stride 2, padding 1 give 19
// positions, so 25 channels are 475 values, not 500.
use stackprop::Conv1d;

static FIRST: Conv1d<f32, 1, 25, 5, 2, 1, 1, 40, 500> = Conv1d::zeros();

fn main() {
    let _ = &FIRST;
}
