"""Business rules of your resources, one module per resource. Yours: `copier update` never touches them."""
